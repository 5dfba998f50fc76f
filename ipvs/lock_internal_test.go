package ipvs

import (
	"sync"
	"testing"
	"time"
)

// TestDirLockExcludes: writers exclude packets on every stripe and other
// readers, packets on different stripes and listings share the lock, and
// packets that wait past their yields (a writer holding the lock for
// milliseconds) sleep and get in once it leaves. Run with -race: a reader
// let in beside a writer is a data race on x as well as an odd value.
func TestDirLockExcludes(t *testing.T) {
	var l dirLock
	x := 0 // even outside writers
	stop := make(chan struct{})
	var readers sync.WaitGroup
	var reads [lockStripes + 1]int
	for i := 0; i <= lockStripes; i++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if i == lockStripes {
					l.RLock()
				} else {
					l.rlockAt(uint(i))
				}
				if x%2 != 0 {
					t.Errorf("reader %d saw a writer's half-done change", i)
				}
				if i == lockStripes {
					l.RUnlock()
				} else {
					l.runlockAt(uint(i))
				}
				reads[i]++
			}
		}()
	}
	for n := 0; n < 200; n++ {
		l.Lock()
		x++
		if n%50 == 0 {
			// Long enough that waiting packets run out of yields.
			time.Sleep(5 * time.Millisecond)
		}
		x++
		l.Unlock()
	}
	// Readers must get in between writers.
	time.Sleep(10 * time.Millisecond)
	close(stop)
	readers.Wait()
	if x != 400 {
		t.Fatalf("x = %d after 200 writers, want 400", x)
	}
	for i, n := range reads {
		if n == 0 {
			t.Errorf("reader %d never got the lock", i)
		}
	}
}
