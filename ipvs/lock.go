package ipvs

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// lockStripes is how many reader stripes the director's lock has.
const lockStripes = 8

// dirLock is the director's reader-writer lock with its readers spread
// over stripes: packets take one stripe (chosen by their processor) for
// reading, so that packets on different cores do not bounce one reader
// count between them (the kernel's packet path takes no lock at all);
// configuration changes and Advance take the whole lock.
//
// A packet that meets a writer yields instead of sleeping, for a while,
// as a kernel spinlock spins: Advance holds the lock for tens of
// microseconds every few hundred packets, and a core whose goroutine went
// to sleep took longer to wake (a virtual CPU halts) than the writer held
// the lock. With sync.RWMutex stripes, 2 goroutines making new connections
// waited 2.5 times as long as Advance held the lock; yielding, about as
// long (BENCHMARKS.md). A packet that waits longer, behind a long
// configuration change, sleeps on the writers' mutex.
//
// Packets announce themselves in their stripe's count, then check for a
// writer; a writer announces itself, then waits for every stripe's count
// to drain. Go's atomics are sequentially consistent, so one of the two
// always sees the other. Readers that may hold the lock long (listings,
// Explain) take the sync.RWMutex slow instead, which writers take first.
type dirLock struct {
	w atomic.Int32 // a writer holds the lock or waits for packets to leave
	_ [cacheLine - 4]byte
	s [lockStripes]struct {
		r atomic.Int32 // packets in this stripe
		_ [cacheLine - 4]byte
	}
	wmu  sync.Mutex   // writers, one at a time; packets waiting long sleep on it
	slow sync.RWMutex // readers other than packets
}

// spinYields is how many times a packet yields to a writer before it
// sleeps (a yield with nothing else to run takes about 0.1 µs).
const spinYields = 4096

// Lock takes the lock for writing.
func (l *dirLock) Lock() {
	l.wmu.Lock()
	l.slow.Lock()
	l.w.Store(1)
	for i := range l.s {
		for r := &l.s[i].r; r.Load() != 0; {
			runtime.Gosched() // a packet leaves within microseconds
		}
	}
}

// Unlock releases the lock taken by Lock.
func (l *dirLock) Unlock() {
	l.w.Store(0)
	l.slow.Unlock()
	l.wmu.Unlock()
}

// RLock takes the lock for reading, for readers other than packets.
func (l *dirLock) RLock() { l.slow.RLock() }

// RUnlock releases RLock.
func (l *dirLock) RUnlock() { l.slow.RUnlock() }

// rlockAt takes stripe i for reading, for a packet.
func (l *dirLock) rlockAt(i uint) {
	r := &l.s[i%lockStripes].r
	if l.w.Load() == 0 {
		r.Add(1)
		if l.w.Load() == 0 {
			return
		}
		r.Add(-1)
	}
	l.rlockSlow(r)
}

// rlockSlow waits for the writer to leave, yielding, then sleeping on the
// writers' mutex once it has yielded spinYields times.
func (l *dirLock) rlockSlow(r *atomic.Int32) {
	for n := 0; ; {
		for l.w.Load() != 0 {
			if n < spinYields {
				runtime.Gosched()
				n++
			} else {
				l.sleepOnWriter()
			}
		}
		r.Add(1)
		if l.w.Load() == 0 {
			return
		}
		r.Add(-1)
	}
}

// sleepOnWriter returns once the writer holding wmu has released it.
func (l *dirLock) sleepOnWriter() {
	l.wmu.Lock()
	defer l.wmu.Unlock()
}

func (l *dirLock) runlockAt(i uint) { l.s[i%lockStripes].r.Add(-1) }

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
