package check

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/metrics"
)

// Applier runs a mutation of the director with the director's owner's lock
// held. *control.Controller satisfies it; the checker changes the director
// only through it.
type Applier interface {
	Apply(f func(d *ipvs.Director, now ipvs.Time) error) error
}

// Options configure a [Checker]. A nil *Options means the defaults.
type Options struct {
	// Clock drives intervals, retries and warmups; nil: [RealClock].
	Clock Clock
	// Rand returns a number in [0, n) for warmup delays; nil: math/rand/v2.
	// Tests pass a seeded generator's Int64N (calls are serialized).
	Rand func(n int64) int64
	// Log receives transitions and errors; nil: slog.Default().
	Log *slog.Logger
	// OnEvent, when not nil, is called for every event, in order, once the
	// director reflects it, with the checker's lock held: it must not block
	// nor call the checker.
	OnEvent func(Event)
	// Runner runs a notify command; nil runs it as a process (no shell) in
	// a process group of its own that is killed at the timeout.
	Runner func(ctx context.Context, argv, env []string) error
	// NotifyTimeout bounds one notify command; 0 means
	// DefaultNotifyTimeout.
	NotifyTimeout time.Duration
	// HistorySize is how many transitions each server and service keeps;
	// 0 means 16.
	HistorySize int
}

// EventKind says what happened.
type EventKind string

// Events. Up, Down and Weight concern a real server; the others its
// service.
const (
	EventUp         EventKind = "up"          // a server came up (notify_up)
	EventDown       EventKind = "down"        // a server went down (notify_down)
	EventRetry      EventKind = "retry"       // an up server failed an attempt that will be retried
	EventWeight     EventKind = "weight"      // a dynamic misc check changed a server's weight
	EventQuorumUp   EventKind = "quorum-up"   // the service gained its quorum (quorum_up)
	EventQuorumDown EventKind = "quorum-down" // the service lost its quorum (quorum_down)
	EventSorryOn    EventKind = "sorry-on"    // the sorry server replaced the real servers
	EventSorryOff   EventKind = "sorry-off"   // the real servers replaced the sorry server
	EventApplyError EventKind = "apply-error" // the director refused a change
)

// Event is one thing the checker did or saw.
type Event struct {
	Time    time.Time `json:"time"`
	Kind    EventKind `json:"kind"`
	Service string    `json:"service"`
	// Server is the real server's addr:port ("" for service events).
	Server string `json:"server,omitempty"`
	// Weight is the server's weight (up, weight) or the service's alive
	// weight (quorum events).
	Weight int64  `json:"weight"`
	Err    string `json:"error,omitempty"`
}

// Checker checks the real servers of some services and keeps the director
// in step with their health, with keepalived's semantics (see the package
// documentation). Create it with [New], then Start and Stop it once; Status
// and Handler may be used at any time. Its methods are safe for concurrent
// use.
type Checker struct {
	dir     Applier
	clock   Clock
	rand    func(int64) int64
	log     *slog.Logger
	onEvent func(Event)
	hsize   int

	runner        func(ctx context.Context, argv, env []string) error
	notifyTimeout time.Duration
	notify        *notifier // from Start on

	mu      sync.Mutex
	pending []Event // emitted, delivered to onEvent by flush
	svcs    []*service
	started bool
	stopped bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

type service struct {
	spec       Service
	name       string
	quorum     int64
	hysteresis int64
	sorry      *ipvs.DestConfig
	servers    []*server

	quorumUp   bool
	sorryAlive bool
	applyErr   string
	hist       ring
}

type server struct {
	svc   *service
	spec  Server
	name  string
	check *Check // with defaults; nil: unchecked

	// keepalived's state: checker->is_up, has_run, retry_it; rs->alive,
	// effective_weight.
	checkerUp bool
	hasRun    bool
	retryIt   int
	alive     bool
	weight    int32

	since      time.Time
	lastCheck  time.Time
	lastErr    string
	lastErrAt  time.Time
	consecFail int
	checks     uint64
	failures   uint64
	hist       ring
}

// New returns a checker of svcs that changes the director through dir.
// It validates the services; nothing runs until Start.
func New(dir Applier, svcs []Service, opts *Options) (*Checker, error) {
	if dir == nil {
		return nil, errors.New("check: no director")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Clock == nil {
		o.Clock = RealClock()
	}
	if o.Rand == nil {
		o.Rand = rand.Int64N
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Runner == nil {
		o.Runner = runCommand
	}
	if o.NotifyTimeout <= 0 {
		o.NotifyTimeout = DefaultNotifyTimeout
	}
	if o.HistorySize <= 0 {
		o.HistorySize = 16
	}
	c := &Checker{dir: dir, clock: o.Clock, rand: o.Rand, log: o.Log, onEvent: o.OnEvent, hsize: o.HistorySize}
	seen := make(map[ipvs.ServiceKey]bool)
	for i := range svcs {
		sp := svcs[i]
		if err := sp.validate(); err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
		if seen[sp.Key] {
			return nil, fmt.Errorf("check: service %s listed twice", metrics.ServiceName(sp.Key))
		}
		seen[sp.Key] = true
		s := &service{spec: sp, name: metrics.ServiceName(sp.Key), quorum: int64(sp.Quorum), hysteresis: int64(sp.Hysteresis)}
		s.hist.size = c.hsize
		if s.quorum == 0 {
			s.quorum = 1
		}
		if sp.SorryServer != nil {
			ss := *sp.SorryServer
			if ss.Port == 0 {
				ss.Port = sp.Key.Port
			}
			if ss.Weight == 0 {
				ss.Weight = 1
			}
			s.sorry = &ss
		}
		for j := range sp.Servers {
			sv := sp.Servers[j]
			r := &server{svc: s, spec: sv, name: destName(sv.Dest)}
			r.hist.size = c.hsize
			if sv.Check != nil {
				ch := sv.Check.withDefaults()
				r.check = &ch
			}
			s.servers = append(s.servers, r)
		}
		c.svcs = append(c.svcs, s)
	}
	c.runner, c.notifyTimeout = o.Runner, o.NotifyTimeout
	return c, nil
}

// Start installs the initial state in the director, as keepalived does at
// startup, then starts one check loop per checked server. Servers start up
// (alive), except those whose check has Alpha; an inhibited server is
// installed even when down, with weight 0. Start fails, and starts no
// loop, when the director refuses the initial state (a service missing);
// Stop must be called then too. The loops end when ctx ends or at Stop.
func (c *Checker) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.stopped {
		return errors.New("check: already started or stopped")
	}
	c.started = true
	c.notify = newNotifier(c.runner, c.notifyTimeout, c.log)
	now := c.clock.Now()
	var errs []error
	for _, s := range c.svcs {
		for _, r := range s.servers {
			r.weight = r.spec.Dest.Weight
			r.checkerUp = r.check == nil || !r.check.Alpha
			r.alive = r.checkerUp
			if r.check != nil {
				// check_api.c: init_checkers_queue: "one failure is enough
				// initially" (alpha or not) until the first success.
				r.retryIt = r.check.Retries
			}
			r.since = now
			r.hist.add(Transition{At: now, State: r.stateName(), Reason: "start"})
		}
		s.hist.add(Transition{At: now, State: "start"})
		c.updateQuorum(s, true, now)
		if err := c.reconcile(s); err != nil {
			errs = append(errs, err)
		}
	}
	c.flush()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	c.cancel = cancel
	for _, s := range c.svcs {
		for _, r := range s.servers {
			if r.check != nil {
				c.wg.Add(1)
				go c.loop(ctx, r)
			}
		}
	}
	return nil
}

// Stop ends the check loops and waits for them, then, for services with
// Omega, runs the notify_down commands of the alive servers and the
// quorum_down command, and waits for every queued notify command. It leaves
// the director as it is: removing the services is their owner's business.
func (c *Checker) Stop() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	c.wg.Wait()

	c.mu.Lock()
	now := c.clock.Now()
	for _, s := range c.svcs {
		if !s.spec.Omega || c.notify == nil {
			continue
		}
		// ipwrapper.c: clear_service_rs with stopping: alive servers are
		// unset and, under omega, notified down; update_vs_notifies then
		// runs quorum_down whatever the quorum was.
		for _, r := range s.servers {
			if !r.alive {
				continue
			}
			r.alive = false
			r.since = now
			r.hist.add(Transition{At: now, State: "down", Reason: "stop (omega)"})
			c.emit(Event{Time: now, Kind: EventDown, Service: s.name, Server: r.name, Weight: int64(r.weight), Err: "stopping"})
			c.notify.enqueue(r.spec.NotifyDown, notifyEnv("down", s, r))
		}
		s.quorumUp = false
		s.hist.add(Transition{At: now, State: "quorum-down", Reason: "stop (omega)"})
		c.emit(Event{Time: now, Kind: EventQuorumDown, Service: s.name, Err: "stopping"})
		c.notify.enqueue(s.spec.QuorumDown, notifyEnv("quorum-down", s, nil))
	}
	c.flush()
	c.mu.Unlock()
	if c.notify != nil {
		c.notify.close()
	}
}

// loop checks one server until ctx ends.
func (c *Checker) loop(ctx context.Context, r *server) {
	defer c.wg.Done()
	chk := r.check
	if chk.Warmup > 0 {
		// check_api.c: register_checkers_thread: a random delay in
		// [0, warmup] spreads the first checks.
		c.mu.Lock() // Options.Rand need not be safe for concurrent use
		d := time.Duration(c.rand(int64(chk.Warmup) + 1))
		c.mu.Unlock()
		if !c.wait(ctx, d) {
			return
		}
	}
	for {
		actx, cancel := context.WithTimeout(ctx, chk.Timeout)
		res := chk.Probe.Probe(actx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if !c.wait(ctx, c.observe(r, res)) {
			return
		}
	}
}

func (c *Checker) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-c.clock.After(d):
		return true
	}
}

// observe applies one attempt's result and returns the delay to the next
// attempt. It follows keepalived's checker epilog (check_udp.c:
// udp_epilog, the same in every checker): success, or a failure with no
// retry left, settles the state; a failure of an up server with retries
// left schedules a retry after delay_before_retry.
func (c *Checker) observe(r *server, res Result) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	s := r.svc
	chk := r.check
	r.lastCheck = now
	r.checks++
	ok := res.Err == nil
	if ok {
		r.consecFail = 0
	} else {
		r.failures++
		r.consecFail++
		r.lastErr = res.Err.Error()
		r.lastErrAt = now
	}
	changed := false
	// check_misc.c: misc_check_child_thread updates the weight before the
	// state.
	if ok && res.WeightSet {
		changed = c.updateWeight(r, res.Weight, now) || changed
	}
	delay := chk.Interval
	if ok || ((r.checkerUp || !r.hasRun) && r.retryIt >= chk.Retries) {
		r.retryIt = 0
		if ok && (!r.checkerUp || !r.hasRun) {
			changed = c.updateCheckerState(r, true, now, "") || changed
		} else if !ok && (r.checkerUp || !r.hasRun) {
			changed = c.updateCheckerState(r, false, now, r.lastErr) || changed
		}
	} else if r.checkerUp {
		delay = chk.DelayBeforeRetry
		r.retryIt++
		c.emit(Event{Time: now, Kind: EventRetry, Service: s.name, Server: r.name, Err: r.lastErr})
		c.log.Debug("check failed, will retry", "service", s.name, "server", r.name,
			"retry", r.retryIt, "of", chk.Retries, "err", r.lastErr)
	}
	r.hasRun = true
	// After a refusal (the service was missing during a reload, say) every
	// attempt tries again, so the director heals without a transition.
	if changed || s.applyErr != "" {
		c.reconcile(s)
	}
	c.flush()
	return delay
}

// updateCheckerState mirrors ipwrapper.c: update_svr_checker_state for a
// server with one checker. It reports whether the server's state changed.
func (c *Checker) updateCheckerState(r *server, up bool, now time.Time, why string) bool {
	if r.checkerUp == up {
		if !r.hasRun {
			// First result equal to the initial state: notified only
			// under alpha, or when down.
			if r.check.Alpha || !up {
				c.rsNotify(r)
			}
			r.hasRun = true
		}
		return false
	}
	r.hasRun = true
	changed := c.performSvrState(r, up, now, why)
	r.checkerUp = up
	return changed
}

// performSvrState mirrors ipwrapper.c: perform_svr_state: the server's
// alive flag, its notify command and the service's quorum.
func (c *Checker) performSvrState(r *server, alive bool, now time.Time, why string) bool {
	if r.alive == alive {
		return false
	}
	s := r.svc
	r.alive = alive
	r.since = now
	state := r.stateName()
	r.hist.add(Transition{At: now, State: state, Reason: why})
	kind := EventDown
	if alive {
		kind = EventUp
		c.log.Info("real server up", "service", s.name, "server", r.name, "weight", r.weight)
	} else {
		c.log.Warn("real server down", "service", s.name, "server", r.name, "err", why)
	}
	c.emit(Event{Time: now, Kind: kind, Service: s.name, Server: r.name, Weight: int64(r.weight), Err: why})
	c.rsNotify(r)
	c.updateQuorum(s, false, now)
	return true
}

// updateWeight mirrors ipwrapper.c: update_svr_wgt with update_quorum.
func (c *Checker) updateWeight(r *server, w int32, now time.Time) bool {
	if r.weight == w {
		return false
	}
	s := r.svc
	old := r.weight
	r.weight = w
	c.log.Info("real server weight changed", "service", s.name, "server", r.name, "from", old, "to", w)
	c.emit(Event{Time: now, Kind: EventWeight, Service: s.name, Server: r.name, Weight: int64(w)})
	c.updateQuorum(s, false, now)
	return true
}

func (c *Checker) rsNotify(r *server) {
	if r.alive {
		c.notify.enqueue(r.spec.NotifyUp, notifyEnv("up", r.svc, r))
	} else {
		c.notify.enqueue(r.spec.NotifyDown, notifyEnv("down", r.svc, r))
	}
}

// aliveWeight mirrors ipwrapper.c: weigh_live_realservers.
func (s *service) aliveWeight() int64 {
	var sum int64
	for _, r := range s.servers {
		if r.alive {
			sum += int64(r.weight)
		}
	}
	return sum
}

// updateQuorum mirrors ipwrapper.c: update_quorum_state. The quorum is
// gained when the alive weight reaches quorum+hysteresis and lost when it
// falls below quorum-hysteresis (or to 0); at start, a service that does
// not reach quorum+hysteresis and has a sorry server starts with it.
func (c *Checker) updateQuorum(s *service, init bool, now time.Time) {
	sum := s.aliveWeight()
	threshold := s.quorum + s.hysteresis
	if s.quorumUp {
		threshold = s.quorum - s.hysteresis
	}
	switch {
	case !s.quorumUp && sum >= threshold:
		s.quorumUp = true
		s.hist.add(Transition{At: now, State: "quorum-up", Reason: fmt.Sprintf("alive weight %d >= %d", sum, threshold)})
		c.log.Info("quorum gained", "service", s.name, "alive_weight", sum, "threshold", threshold)
		c.emit(Event{Time: now, Kind: EventQuorumUp, Service: s.name, Weight: sum})
		if s.sorry != nil && s.sorryAlive {
			s.sorryAlive = false
			s.hist.add(Transition{At: now, State: "sorry-off"})
			c.emit(Event{Time: now, Kind: EventSorryOff, Service: s.name, Server: destName(*s.sorry)})
		}
		c.notify.enqueue(s.spec.QuorumUp, notifyEnv("quorum-up", s, nil))
	case (s.quorumUp && (sum == 0 || sum < threshold)) || (init && !s.quorumUp && s.sorry != nil && !s.sorryAlive):
		s.quorumUp = false
		s.hist.add(Transition{At: now, State: "quorum-down", Reason: fmt.Sprintf("alive weight %d < %d", sum, threshold)})
		c.log.Warn("quorum lost", "service", s.name, "alive_weight", sum, "threshold", threshold)
		c.emit(Event{Time: now, Kind: EventQuorumDown, Service: s.name, Weight: sum})
		if s.sorry != nil && !s.sorryAlive {
			s.sorryAlive = true
			s.hist.add(Transition{At: now, State: "sorry-on"})
			c.emit(Event{Time: now, Kind: EventSorryOn, Service: s.name, Server: destName(*s.sorry)})
		}
		c.notify.enqueue(s.spec.QuorumDown, notifyEnv("quorum-down", s, nil))
	}
}

// destWant is one dest as the checker wants it in the director.
type destWant struct {
	cfg     ipvs.DestConfig
	present bool
}

// desired returns the dests the checker owns as keepalived would have
// them in IPVS after the same transitions: while the sorry server is in,
// real servers are out (weight 0 when inhibited); otherwise an alive
// server is in with its weight, a down one is out, or in with weight 0
// under inhibit_on_failure.
func (s *service) desired() []destWant {
	out := make([]destWant, 0, len(s.servers)+1)
	sorryAt := -1
	for _, r := range s.servers {
		w := destWant{cfg: r.spec.Dest}
		w.cfg.Weight = 0
		serving := r.alive && !s.sorryAlive
		if serving {
			w.cfg.Weight = r.weight
		}
		w.present = serving || r.spec.InhibitOnFailure
		if s.sorry != nil && r.spec.Dest.Addr == s.sorry.Addr && r.spec.Dest.Port == s.sorry.Port {
			sorryAt = len(out)
		}
		out = append(out, w)
	}
	if s.sorry != nil {
		switch {
		case sorryAt < 0:
			out = append(out, destWant{cfg: *s.sorry, present: s.sorryAlive})
		case s.sorryAlive:
			out[sorryAt] = destWant{cfg: *s.sorry, present: true}
		}
	}
	return out
}

// reconcile makes the director's dests match desired, changing only what
// differs. Errors are recorded in the service's status and returned.
func (c *Checker) reconcile(s *service) error {
	want := s.desired()
	key := s.spec.Key
	err := c.dir.Apply(func(d *ipvs.Director, _ ipvs.Time) error {
		info, err := d.Service(key)
		if err != nil {
			return fmt.Errorf("check: service %s: %w", s.name, err)
		}
		have := make(map[netip.AddrPort]ipvs.DestConfig, len(info.Dests))
		for _, x := range info.Dests {
			have[netip.AddrPortFrom(x.Addr, x.Port)] = x.DestConfig
		}
		var errs []error
		for _, w := range want {
			ap := netip.AddrPortFrom(w.cfg.Addr, w.cfg.Port)
			cur, ok := have[ap]
			var err error
			switch {
			case w.present && !ok:
				err = d.AddDest(key, w.cfg)
			case w.present && cur != w.cfg:
				err = d.EditDest(key, w.cfg)
			case !w.present && ok:
				err = d.DelDest(key, w.cfg.Addr, w.cfg.Port)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("check: service %s: server %s: %w", s.name, ap, err))
			}
		}
		return errors.Join(errs...)
	})
	if err != nil {
		s.applyErr = err.Error()
		c.log.Error("director refused a health change", "service", s.name, "err", err)
		c.emit(Event{Time: c.clock.Now(), Kind: EventApplyError, Service: s.name, Err: err.Error()})
		return err
	}
	s.applyErr = ""
	return nil
}

// emit queues an event; flush delivers the queue once the director has
// been changed, so that an observer of an event sees its effect.
func (c *Checker) emit(e Event) {
	if c.onEvent != nil {
		c.pending = append(c.pending, e)
	}
}

func (c *Checker) flush() {
	for _, e := range c.pending {
		c.onEvent(e)
	}
	c.pending = c.pending[:0]
}

func (r *server) stateName() string {
	if r.alive {
		return "up"
	}
	return "down"
}

// notifyEnv describes a notify command's event in its environment: a golvs
// addition, since keepalived passes nothing but the configured arguments.
func notifyEnv(event string, s *service, r *server) []string {
	env := []string{"GOLVS_EVENT=" + event, "GOLVS_SERVICE=" + s.name}
	if r != nil {
		env = append(env, "GOLVS_SERVER="+r.name, "GOLVS_WEIGHT="+strconv.Itoa(int(r.weight)))
	} else {
		env = append(env, "GOLVS_ALIVE_WEIGHT="+strconv.FormatInt(s.aliveWeight(), 10))
	}
	return env
}
