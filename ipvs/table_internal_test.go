package ipvs

import (
	"math/rand/v2"
	"testing"
	"time"
)

// probe returns whether ix holds c under hash h, walking h's probe sequence
// as lookups do (up to the first empty slot, past tombstones).
func (ix *index) probe(c *Conn, h uint64) bool {
	a := ix.arr.Load()
	if a == nil {
		return false
	}
	mask := len(a.s) - 1
	for i := home(a, h); a.s[i].c.Load() != nil; i = (i + 1) & mask {
		if a.s[i].c.Load() == c {
			return a.s[i].h.Load() == h
		}
	}
	return false
}

// slots returns the size of ix's slot array.
func (ix *index) slots() int {
	if a := ix.arr.Load(); a != nil {
		return len(a.s)
	}
	return 0
}

// TestIndexAgainstMap: random insertions and removals, with hashes drawn
// from a small set so that clusters form and wrap around the slot array;
// after every step each entry is reachable along its probe sequence
// (tombstones and their clearing never break one) and the counts of
// entries and tombstones are right.
func TestIndexAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var ix index
	live := map[*Conn]uint64{}
	var order []*Conn
	for step := 0; step < 20000; step++ {
		if len(order) == 0 || rng.IntN(100) < 55 {
			c := &Conn{}
			// Few distinct homes, many collisions; the shard bits are the
			// low ones and ignored by home.
			h := uint64(rng.IntN(300)) * tableShards
			ix.add(c, h)
			live[c] = h
			order = append(order, c)
		} else {
			i := rng.IntN(len(order))
			c := order[i]
			order[i] = order[len(order)-1]
			order = order[:len(order)-1]
			ix.remove(c, live[c])
			if ix.probe(c, live[c]) {
				t.Fatalf("step %d: removed entry still reachable", step)
			}
			delete(live, c)
		}
		if ix.n != len(live) {
			t.Fatalf("step %d: n=%d, want %d", step, ix.n, len(live))
		}
		var seen, tombs int
		if a := ix.arr.Load(); a != nil {
			for i := range a.s {
				switch a.s[i].c.Load() {
				case nil:
				case tombstone:
					tombs++
				default:
					seen++
				}
			}
		}
		if seen != ix.n || tombs != ix.tomb {
			t.Fatalf("step %d: %d entries and %d tombstones in the array, counted %d and %d", step, seen, tombs, ix.n, ix.tomb)
		}
		if step%97 == 0 || len(live) < 40 {
			for c, h := range live {
				if !ix.probe(c, h) {
					t.Fatalf("step %d: entry unreachable from its home (%d entries, %d slots)", step, len(live), ix.slots())
				}
			}
		}
	}
}

// TestLookupNewestFirst pins the kernel's order among entries of one key
// (ip_vs_conn.c: ip_vs_conn_hash adds at the head of the chain, and
// __ip_vs_conn_in_get returns the first match): the newest entry wins, and
// the older one is found again once the newer leaves the table.
func TestLookupNewestFirst(t *testing.T) {
	tab := newTable()
	mk := func() *Conn {
		c := &Conn{af: AFInet, protocol: ProtoTCP, caddr: addr16{10, 0, 0, 1}, cport: 1234,
			vaddr: addr16{10, 0, 0, 100}, vport: 80, daf: AFInet, daddr: addr16{10, 0, 1, 1}, dport: 80}
		c.kind.Store(uint32(FwdMasq))
		tab.insert(c, 0)
		return c
	}
	old := mk()
	// Fill the shard around it, so that the two are not neighbours.
	for i := 0; i < 500; i++ {
		c := &Conn{af: AFInet, protocol: ProtoTCP, caddr: addr16{10, 1, byte(i >> 8), byte(i)}, cport: 1234,
			vaddr: addr16{10, 0, 0, 100}, vport: 80}
		tab.insert(c, 0)
	}
	young := mk()
	in := func() *Conn {
		return tab.lookupIn(AFInet, ProtoTCP, addr16{10, 0, 0, 1}, 1234, addr16{10, 0, 0, 100}, 80)
	}
	out := func() *Conn {
		return tab.lookupOut(AFInet, ProtoTCP, addr16{10, 0, 1, 1}, 80, addr16{10, 0, 0, 1}, 1234)
	}
	if in() != young || out() != young {
		t.Fatal("the newest entry of the key is not the one found")
	}
	tab.unhash(young)
	if in() != old || out() != old {
		t.Fatal("the older entry is not found once the newer left")
	}
	tab.unhash(old)
	if in() != nil || out() != nil {
		t.Fatal("an entry is found after both left")
	}
}

// TestWheelOrder pins the firing order of timers that share a bucket
// (kernel/time/timer.c: enqueue_timer adds at the head, expire_timers runs
// from the head, __run_timers runs higher levels first) and mod_timer's
// shortcut that keeps a timer re-armed within its bucket in place.
func TestWheelOrder(t *testing.T) {
	tab := newTable()
	// A time whose 60 s timers end a level-4 bucket too (a multiple of
	// 4096 jiffies), so that a higher-level timer can share their jiffy.
	now := Time(100 * time.Second)
	for {
		clk := toJiffies(now)
		if j, _ := bucketExpiry(clk, clk+60*hz); j%4096 == 0 && j-clk > 60*hz+2 {
			break
		}
		now = now.Add(Jiffy)
	}
	a, b, c, hi := &Conn{}, &Conn{}, &Conn{}, &Conn{}
	tab.timerSet(a, now, 60*time.Second, 0)
	tab.timerSet(b, now, 60*time.Second, 0)
	tab.timerSet(c, now, 60*time.Second, 0)
	// a re-armed a jiffy later stays in the same (level 3) bucket: it
	// keeps its place, behind b and c.
	tab.timerSet(a, now+Time(Jiffy), 60*time.Second, 0)
	fa, fb := WheelFireTime(now, 60*time.Second), WheelFireTime(now+Time(Jiffy), 60*time.Second)
	if fa != fb {
		t.Fatalf("test assumption: both arms in one bucket (%v, %v)", fa, fb)
	}
	// A timer of a higher level firing at the same jiffy goes first: find a
	// delay, armed earlier, whose level-4 bucket ends at fa too.
	var lvl4 time.Duration
	for d := 130 * time.Second; d < 1000*time.Second; d += time.Second {
		clk := toJiffies(now.Add(-70 * time.Second))
		j, l := bucketExpiry(clk, clk+uint64(d/Jiffy))
		if l == 4 && fromJiffies(j) == fa {
			lvl4 = d
			break
		}
	}
	if lvl4 == 0 {
		t.Fatal("test assumption: no level-4 timer ends in the same jiffy")
	}
	tab.timerSet(hi, now.Add(-70*time.Second), lvl4, 0)
	batch, at := tab.popDue(fa-1, nil)
	if len(batch) != 0 {
		t.Fatalf("timers fired before their bucket's end: %d", len(batch))
	}
	// popDue hands out one bucket (of every wheel) at a time.
	var fired []*Conn
	for {
		batch, at = tab.popDue(fa+Time(time.Hour), nil)
		if len(batch) == 0 {
			break
		}
		if at != fa {
			t.Fatalf("batch fired at %v, want %v", at, fa)
		}
		fired = append(fired, batch...)
	}
	want := []*Conn{hi, c, b, a}
	if len(fired) != len(want) {
		t.Fatalf("%d fired, want %d", len(fired), len(want))
	}
	for i := range want {
		if fired[i] != want[i] {
			t.Fatalf("firing order wrong at %d", i)
		}
	}
	// A batch entry deleted before it is processed does not fire, and
	// counts as pending for del_timer.
	if !tab.timerDel(b) {
		t.Fatal("timerDel of a batch entry: not pending")
	}
	if tab.firing(b) {
		t.Fatal("deleted batch entry still fires")
	}
	if !tab.firing(c) || tab.timerPending(c) {
		t.Fatal("batch entry not firing, or pending")
	}
}
