package ipvs

import (
	"sync"
	"sync/atomic"
)

// lockStripes is how many reader stripes the director's lock has.
const lockStripes = 8

// dirLock is the director's reader-writer lock with its readers spread
// over stripes: packets take one stripe (chosen by their flow) for
// reading, so that packets on different cores do not bounce one reader
// count between them (the kernel's packet path takes no lock at all);
// configuration changes and Advance take every stripe.
type dirLock struct {
	s [lockStripes]struct {
		sync.RWMutex
		_ [cacheLine - 24]byte
	}
}

// Lock takes every stripe for writing.
func (l *dirLock) Lock() {
	for i := range l.s {
		l.s[i].Lock()
	}
}

// Unlock releases every stripe.
func (l *dirLock) Unlock() {
	for i := len(l.s) - 1; i >= 0; i-- {
		l.s[i].Unlock()
	}
}

// RLock takes stripe 0 for reading: enough to exclude writers.
func (l *dirLock) RLock() { l.s[0].RLock() }

// RUnlock releases stripe 0.
func (l *dirLock) RUnlock() { l.s[0].RUnlock() }

func (l *dirLock) rlockAt(i uint) { l.s[i%lockStripes].RLock() }

func (l *dirLock) runlockAt(i uint) { l.s[i%lockStripes].RUnlock() }

func stripeFor(caddr addr16, cport uint16) uint {
	return uint(caddr[3]) ^ uint(caddr[15]) ^ uint(cport)
}

// stripeToken carries a stripe number; stripes keeps one per processor (P).
type stripeToken struct{ i uint }

var (
	stripeSeq atomic.Uint32
	stripes   = sync.Pool{New: func() any { return &stripeToken{i: uint(stripeSeq.Add(1) - 1)} }}
)

// cpuStripe returns the stripe of the processor (P) running the caller:
// packets on one core keep writing the same stripes of the lock, the
// statistics and the entry count, as the kernel's per-CPU counters, and
// packets on other cores write others. A sync.Pool holds one token per P;
// a goroutine moved meanwhile only shares a stripe for a while.
func cpuStripe() uint {
	tok := stripes.Get().(*stripeToken)
	stripes.Put(tok)
	return tok.i
}
