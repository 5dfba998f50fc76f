package check

import (
	"sort"
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock whose After fires only when the test advances it.
// The test waits until every check loop is parked in After (blockUntil),
// then jumps to the next deadline: time never passes by itself and no test
// sleeps.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*fakeWaiter
	changed chan struct{} // closed and replaced when a waiter registers
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newFakeClock() *fakeClock {
	return &fakeClock{now: epoch, changed: make(chan struct{})}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- f.now
		return ch
	}
	f.waiters = append(f.waiters, &fakeWaiter{at: f.now.Add(d), ch: ch})
	close(f.changed)
	f.changed = make(chan struct{})
	return ch
}

// blockUntil waits until n waiters are registered. The real-time limit is
// a watchdog against a broken test, not a timing assertion.
func (f *fakeClock) blockUntil(t testing.TB, n int) {
	t.Helper()
	limit := time.After(20 * time.Second)
	for {
		f.mu.Lock()
		got, ch := len(f.waiters), f.changed
		f.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-limit:
			t.Fatalf("fake clock: %d goroutines waiting, want %d", got, n)
		}
	}
}

// next returns the earliest deadline, ok false when none.
func (f *fakeClock) next() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.waiters) == 0 {
		return time.Time{}, false
	}
	at := f.waiters[0].at
	for _, w := range f.waiters[1:] {
		if w.at.Before(at) {
			at = w.at
		}
	}
	return at, true
}

// advanceTo moves the clock to t and fires the waiters due by then, in
// deadline order.
func (f *fakeClock) advanceTo(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.Before(f.now) {
		return
	}
	f.now = t
	var due, kept []*fakeWaiter
	for _, w := range f.waiters {
		if !w.at.After(t) {
			due = append(due, w)
		} else {
			kept = append(kept, w)
		}
	}
	f.waiters = kept
	sort.SliceStable(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, w := range due {
		w.ch <- t
	}
}
