package check

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// DefaultNotifyTimeout bounds one notify command.
const DefaultNotifyTimeout = 30 * time.Second

// maxQueuedNotifies bounds the notify queue; further commands are dropped
// and counted, so that a hung script cannot make the checker grow.
const maxQueuedNotifies = 1024

type notifyJob struct {
	argv []string
	env  []string
}

// notifier runs notify commands one at a time, in the order the
// transitions happened, each with a timeout, on one goroutine: a slow
// script delays the next script, never a check.
type notifier struct {
	run     func(ctx context.Context, argv, env []string) error
	timeout time.Duration
	log     *slog.Logger

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []notifyJob
	busy    bool
	closed  bool
	dropped uint64
	done    chan struct{}
}

func newNotifier(run func(ctx context.Context, argv, env []string) error, timeout time.Duration, log *slog.Logger) *notifier {
	n := &notifier{run: run, timeout: timeout, log: log, done: make(chan struct{})}
	n.cond = sync.NewCond(&n.mu)
	go n.loop()
	return n
}

func (n *notifier) enqueue(argv, env []string) {
	if len(argv) == 0 {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return
	}
	if len(n.queue) >= maxQueuedNotifies {
		n.dropped++
		n.log.Warn("notify queue full: command dropped", "cmd", strings.Join(argv, " "))
		return
	}
	n.queue = append(n.queue, notifyJob{argv, env})
	n.cond.Broadcast()
}

func (n *notifier) loop() {
	defer close(n.done)
	for {
		n.mu.Lock()
		for len(n.queue) == 0 && !n.closed {
			n.cond.Wait()
		}
		if len(n.queue) == 0 {
			n.mu.Unlock()
			return
		}
		j := n.queue[0]
		n.queue = n.queue[1:]
		n.busy = true
		n.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
		err := n.run(ctx, j.argv, j.env)
		cancel()
		if err != nil {
			n.log.Warn("notify command failed", "cmd", strings.Join(j.argv, " "), "err", err)
		}

		n.mu.Lock()
		n.busy = false
		n.cond.Broadcast()
		n.mu.Unlock()
	}
}

// idle waits until every queued command has run.
func (n *notifier) idle() {
	n.mu.Lock()
	for len(n.queue) > 0 || n.busy {
		n.cond.Wait()
	}
	n.mu.Unlock()
}

// close runs what is queued, then ends the goroutine.
func (n *notifier) close() {
	n.mu.Lock()
	n.closed = true
	n.cond.Broadcast()
	n.mu.Unlock()
	<-n.done
}
