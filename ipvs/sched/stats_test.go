package sched

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/golvs/golvs/ipvs"
)

// seq returns a random source that yields vals in turn.
func seq(vals ...uint32) func() uint32 {
	i := 0
	return func() uint32 {
		v := vals[i%len(vals)]
		i++
		return v
	}
}

// ip_vs_twos.c: ip_vs_twos_schedule with chosen random numbers:
// prandom_u32_max(7) of 0 is 0 and of 0xffffffff is 6.
func TestTwosDeterministic(t *testing.T) {
	h := newHarness(t, "twos", 0, WithRand(seq(0, 0xffffffff)))
	m := h.addAll(map[string]int32{".3": 3, ".2": 2, ".1": 1}, ".3", ".2", ".1") // list .1 .2 .3, total 6
	// r1 = 0: .1 (0-1 <= 0); r2 = 6: .3 (6-1-2-3 = 0). Equal loads: choice 1.
	if d := h.pick("10.9.0.1", 1); d != m[".1"] {
		t.Fatalf("equal loads: %s, want .1", name(d))
	}
	// .1 loaded: w2*o1 = 3*257 > w1*o2 = 0: choice 2.
	m[".1"].SetTestCounters(1, 1, false)
	if d := h.pick("10.9.0.1", 1); d != m[".3"] {
		t.Fatalf(".1 loaded: %s, want .3", name(d))
	}
	// OVERLOADED and weight-0 dests are not counted: total 3, r = 0 and 3.
	m[".1"].SetTestCounters(0, 0, true)
	h.edit(m[".2"], 0)
	if d := h.pick("10.9.0.1", 1); d != m[".3"] {
		t.Fatalf("only .3 eligible: %s", name(d))
	}
	m[".3"].SetTestCounters(0, 0, true)
	if d := h.pick("10.9.0.1", 1); d != nil {
		t.Fatalf("none eligible: %s", name(d))
	}
}

// The kernel's int arithmetic: a total weight beyond INT_MAX wraps; the
// decision still names a dest (the last eligible one when the walk never
// reaches r <= 0), as the kernel's code does.
func TestTwosOverflow(t *testing.T) {
	h := newHarness(t, "twos", 0, WithRand(seq(0xffffffff, 0x80000000)))
	h.add("10.8.0.1", 80, math.MaxInt32)
	h.add("10.8.0.2", 80, math.MaxInt32)
	for range 4 {
		if d := h.pick("10.9.0.1", 1); d == nil {
			t.Fatal("no dest")
		}
	}
}

// twos with the default source spreads new flows by weight and never picks
// an ineligible dest.
func TestTwosStatistical(t *testing.T) {
	h := newHarness(t, "twos", 0, WithRand(rand.New(rand.NewPCG(3, 4)).Uint32))
	m := h.addAll(map[string]int32{".1": 1, ".2": 2, ".3": 3, ".4": 0, ".5": 4}, ".1", ".2", ".3", ".4", ".5")
	m[".5"].SetTestCounters(0, 0, true)
	got := map[*ipvs.Dest]int{}
	for range 30000 {
		got[h.syn("10.9.0.1")]++
	}
	if got[m[".4"]] != 0 || got[m[".5"]] != 0 || got[nil] != 0 {
		t.Fatalf("ineligible dests picked: %v", got)
	}
	for n, w := range map[string]float64{".1": 1, ".2": 2, ".3": 3} {
		if share := float64(got[m[n]]) / 30000; math.Abs(share-w/6) > 0.01 {
			t.Errorf("%s: share %.4f, want %.4f", n, share, w/6)
		}
	}
	if _, err := New("twos"); err != nil {
		t.Fatal(err)
	}
}

func clientN(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{172, byte(16 + i>>16), byte(i >> 8), byte(i)})
}

// Over 100000 new flows, wrr, wlc and mh give each dest its weight's share
// within 1 % (absolute); wlc with connections that stay.
func TestDistribution(t *testing.T) {
	const flows = 100000
	weights := []int32{1, 2, 3, 4, 10}
	for _, n := range []string{"wrr", "wlc", "mh"} {
		h := newHarness(t, n, 0)
		var ds []*ipvs.Dest
		var total int32
		for i, w := range weights {
			ds = append(ds, h.add("10.8.0."+itoa(i+1), 80, w))
			total += w
		}
		got := map[*ipvs.Dest]int{}
		for i := range flows {
			var d *ipvs.Dest
			if n == "mh" {
				d = h.sch.Schedule(h.s, &ipvs.Packet{Protocol: ipvs.ProtoTCP, Src: clientN(i), Dst: vip, SrcPort: 1000}, 0)
			} else {
				d = h.syn("10.9.0.1")
			}
			got[d]++
		}
		for i, d := range ds {
			want := float64(weights[i]) / float64(total)
			share := float64(got[d]) / flows
			if math.Abs(share-want) > 0.01 {
				t.Errorf("%s: dest w%d share %.4f, want %.4f", n, weights[i], share, want)
			}
		}
	}
}

// remap returns the fraction of clients whose dest changes when one of ten
// equal dests is deleted.
func remap(t *testing.T, sched string, clients int) float64 {
	h := newHarness(t, sched, 0)
	var ds []*ipvs.Dest
	for i := range 10 {
		ds = append(ds, h.add("10.8.0."+itoa(i+1), 80, 1))
	}
	pk := func(i int) *ipvs.Packet {
		return &ipvs.Packet{Protocol: ipvs.ProtoTCP, Src: clientN(i), Dst: vip, SrcPort: 1000}
	}
	before := make([]*ipvs.Dest, clients)
	for i := range before {
		before[i] = h.sch.Schedule(h.s, pk(i), 0)
	}
	h.del(ds[4])
	moved := 0
	for i := range before {
		if h.sch.Schedule(h.s, pk(i), 0) != before[i] {
			moved++
		}
	}
	return float64(moved) / float64(clients)
}

// Disruption: removing one of ten equal servers remaps the keys of the
// removed one (10 %) plus Maglev's own disruption for mh (at most 12 %
// here); sh rebuilds its 256 buckets in list order and moves most keys.
func TestDisruption(t *testing.T) {
	const clients = 100000
	mhMoved := remap(t, "mh", clients)
	shMoved := remap(t, "sh", clients)
	t.Logf("removing 1 of 10 equal servers remaps: mh %.2f %%, sh %.2f %% of %d clients", 100*mhMoved, 100*shMoved, clients)
	if mhMoved > 0.12 {
		t.Errorf("mh remapped %.2f %% of keys, want at most 12 %%", 100*mhMoved)
	}
	if mhMoved < 0.10 {
		t.Errorf("mh remapped %.2f %%: fewer than the removed server's share", 100*mhMoved)
	}
}

// Scheduling decisions do not allocate.
func TestNoAllocations(t *testing.T) {
	for _, n := range Names() {
		h := newHarness(t, n, ipvs.SvcSched1|ipvs.SvcSched2)
		for i := range 10 {
			d := h.add("10.8.1."+itoa(i+1), 80, int32(i%4+1))
			d.SetTestCounters(int32(i%3), int32(i), false)
		}
		pk := makePackets(256)
		for _, p := range pk { // warm the caches
			h.sch.Schedule(h.s, p, 0)
		}
		i := 0
		allocs := testing.AllocsPerRun(2000, func() {
			h.sch.Schedule(h.s, pk[i%len(pk)], ipvs.Time(i))
			i++
		})
		if allocs != 0 {
			t.Errorf("%s: %.2f allocations per decision", n, allocs)
		}
	}
}

// makePackets returns TCP SYNs from varied clients to 64 addresses.
func makePackets(n int) []*ipvs.Packet {
	rng := rand.New(rand.NewPCG(5, 6))
	pk := make([]*ipvs.Packet, n)
	for i := range pk {
		pk[i] = &ipvs.Packet{Family: ipvs.AFInet, Protocol: ipvs.ProtoTCP, Src: clientN(rng.IntN(1 << 20)),
			Dst: vipN(i % 64), SrcPort: uint16(1024 + rng.IntN(60000)), DstPort: 80, TCPFlags: ipvs.TCPSyn}
	}
	return pk
}
