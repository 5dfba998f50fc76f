package sched

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
)

const sec = ipvs.Time(time.Second)

func vipN(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(100 + i>>16), byte(i >> 8), byte(i)})
}

func lblcHas(x *lblc, a netip.Addr) bool {
	h, k := locKey(a)
	return x.cache.get(h, k) != nil
}

// ip_vs_lblc.c: ip_vs_lblc_check_expire, ip_vs_lblc_full_check: every 30th
// run of the 60 s timer removes the entries unused for lblc_expiration.
func TestLBLCFullExpiration(t *testing.T) {
	h := newHarness(t, "lblc", 0)
	h.addAll(nil, ".1", ".2")
	h.s.Settings().LBLCExpiration = 10 * time.Minute
	x := h.sch.(*lblc)
	a, b, c := vipN(1), vipN(2), vipN(3)
	h.synTo("10.9.0.1", a) // t=0, the timer is armed for t=60 s
	h.now = 1799 * sec     // runs 1..29 only count
	h.synTo("10.9.0.1", b)
	if !lblcHas(x, a) || x.cache.counter != 30 || x.cache.entries != 2 {
		t.Fatalf("t=1799: has a %v, counter %d, entries %d", lblcHas(x, a), x.cache.counter, x.cache.entries)
	}
	h.now = 1800 * sec // run 30: full check
	h.synTo("10.9.0.1", c)
	if lblcHas(x, a) || !lblcHas(x, b) || !lblcHas(x, c) || x.cache.counter != 1 || x.cache.entries != 2 {
		t.Fatalf("t=1800: has a %v b %v c %v, counter %d, entries %d", lblcHas(x, a), lblcHas(x, b), lblcHas(x, c), x.cache.counter, x.cache.entries)
	}
	// A different expiration read at run time (the sysctl).
	h.s.Settings().LBLCExpiration = time.Second
	h.now = (1800 + 30*60) * sec // the next full check: 30 runs later
	h.synTo("10.9.0.1", c)
	if lblcHas(x, b) || !lblcHas(x, c) || x.cache.entries != 1 {
		t.Fatalf("second full check: has b %v c %v, entries %d", lblcHas(x, b), lblcHas(x, c), x.cache.entries)
	}
}

// Above 16384 entries each run removes entries unused for 6 minutes, whole
// buckets from the rover on, until 4/3 of the excess is gone; at 24576
// entries no entry is added, but the dest is still used.
func TestLBLCPartialExpirationAndLimit(t *testing.T) {
	h := newHarness(t, "lblc", 0)
	h.addAll(nil, ".1", ".2")
	x := h.sch.(*lblc)
	for i := range 20000 {
		if h.synTo("10.9.0.1", vipN(i)) == nil {
			t.Fatal("no dest")
		}
	}
	h.now = 359 * sec
	h.synTo("10.9.0.1", vipN(20000)) // runs at 60..300 s: nothing is 6 min old
	if x.cache.entries != 20001 || x.cache.rover != 0 || x.cache.counter != 1 {
		t.Fatalf("t=359: entries %d rover %d counter %d", x.cache.entries, x.cache.rover, x.cache.counter)
	}
	h.now = 360 * sec
	h.synTo("10.9.0.1", vipN(20000))
	goal := (20001 - locMaxSize) * 4 / 3
	removed := 20001 - x.cache.entries
	if removed < goal || removed > goal+64 || x.cache.rover == 0 || !lblcHas(x, vipN(20000)) {
		t.Fatalf("partial run removed %d (goal %d), rover %d", removed, goal, x.cache.rover)
	}
	t.Logf("partial collection removed %d entries for a goal of %d, rover at %d", removed, goal, x.cache.rover)

	h = newHarness(t, "lblcr", 0)
	h.addAll(nil, ".1", ".2")
	y := h.sch.(*lblcr)
	for i := range locHardLimit + 100 {
		if h.synTo("10.9.0.1", vipN(i)) == nil {
			t.Fatal("no dest")
		}
	}
	if y.cache.entries != locHardLimit {
		t.Fatalf("entries %d, want the limit %d", y.cache.entries, locHardLimit)
	}
}

// advance must leave the state that running the timer every 60 s leaves.
func TestLocCacheAdvanceMatchesTimer(t *testing.T) {
	const exp = 40 * time.Minute
	rng := rand.New(rand.NewPCG(1, 2))
	var fast, slow locCache[int]
	fast.reset()
	slow.reset()
	now := ipvs.Time(0)
	fast.advance(now, exp)
	slow.advance(now, exp)
	for step := range 400 {
		// Gaps from seconds to a day, bursts of new or refreshed keys.
		switch rng.IntN(4) {
		case 0:
			now += ipvs.Time(rng.Int64N(int64(24 * time.Hour)))
		default:
			now += ipvs.Time(rng.Int64N(int64(10 * time.Minute)))
		}
		fast.advance(now, exp)
		for slow.nextGC <= now {
			slow.tick(slow.nextGC, exp)
			slow.nextGC = slow.nextGC.Add(locCheckInterval)
		}
		n := rng.IntN(3000)
		if step%50 == 0 {
			n = 20000
		}
		for range n {
			a := vipN(rng.IntN(30000))
			for _, c := range []*locCache[int]{&fast, &slow} {
				h, k := locKey(a)
				if e := c.get(h, k); e != nil {
					c.touch(e, now)
				} else if c.entries < locHardLimit {
					c.insert(h, k, now)
				}
			}
		}
		if fast.entries != slow.entries || fast.rover != slow.rover || fast.counter != slow.counter || fast.nextGC != slow.nextGC {
			t.Fatalf("step %d: entries %d/%d rover %d/%d counter %d/%d next %d/%d", step,
				fast.entries, slow.entries, fast.rover, slow.rover, fast.counter, slow.counter, fast.nextGC, slow.nextGC)
		}
		for i := range fast.bucket {
			e, f := fast.bucket[i], slow.bucket[i]
			for ; e != nil && f != nil; e, f = e.next, f.next {
				if e.key != f.key || e.lastuse != f.lastuse {
					t.Fatalf("step %d: bucket %d differs", step, i)
				}
			}
			if e != nil || f != nil {
				t.Fatalf("step %d: bucket %d lengths differ", step, i)
			}
		}
	}
}

// ip_vs_lblcr.c: ip_vs_lblcr_schedule: a set of several members not
// modified for lblcr_expiration loses its most loaded member
// (ip_vs_dest_set_max), strictly after the expiration.
func TestLBLCRSetExpiration(t *testing.T) {
	h := newHarness(t, "lblcr", 0)
	m := h.addAll(nil, ".18", ".19")
	h.s.Settings().LBLCRExpiration = time.Hour
	x := h.sch.(*lblcr)
	expectSeq(t, "lblcr", h.syns(6), ".19", ".19", ".18", ".18", ".18", ".19")
	hk, key := locKey(vip)
	set := &x.cache.get(hk, key).val
	if len(set.dests) != 2 || set.dests[0] != m[".18"] || set.lastmod != 0 {
		t.Fatalf("set %v lastmod %d", set.dests, set.lastmod)
	}
	h.now = 3000 * sec
	expectSeq(t, "t=3000", h.syns(1), ".18") // tie: the first member
	h.now = 3600 * sec
	if h.pick("10.9.0.1", 1); len(set.dests) != 2 {
		t.Fatal("member removed at exactly lastmod + expiration")
	}
	h.now = 3600*sec + 1
	expectSeq(t, "after expiration", h.syns(1), ".19")
	if len(set.dests) != 1 || set.dests[0] != m[".19"] || set.lastmod != h.now {
		t.Fatalf("set after expiration: %v, lastmod %d", set.dests, set.lastmod)
	}
}

// lblcr skips members that were deleted (not AVAILABLE) and adds the wlc
// choice to the set.
func TestLBLCRDeletedMember(t *testing.T) {
	h := newHarness(t, "lblcr", 0)
	m := h.addAll(nil, ".1", ".2")
	expectSeq(t, "first", h.syns(1), ".2")
	h.del(m[".2"])
	expectSeq(t, "member deleted", h.syns(2), ".1", ".1")
	hk, key := locKey(vip)
	if set := x(h).cache.get(hk, key).val.dests; len(set) != 2 || set[0] != m[".1"] {
		t.Fatalf("set %v", set)
	}
}

func x(h *harness) *lblcr { return h.sch.(*lblcr) }
