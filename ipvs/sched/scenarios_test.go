package sched

import (
	"testing"

	"github.com/golvs/golvs/ipvs"
)

// Sequences marked [V] in the spec (section 4, section 8 scenarios 18-37,
// appendix A) were checked on the reference kernel (Linux 6.1.192).

// ip_vs_rr.c: ip_vs_rr_schedule. Scenario 1 [V]: rr starts at the newest dest.
func TestRRNewestFirst(t *testing.T) {
	h := newHarness(t, "rr", 0)
	h.addAll(nil, ".1", ".2", ".3")
	expectSeq(t, "rr", h.syns(4), ".3", ".2", ".1", ".3")
}

// ip_vs_rr.c: ip_vs_rr_del_dest: deleting the current dest moves the cursor
// to its predecessor, so the walk continues at its successor; a new dest
// (at the head) is reached after the walk wraps.
func TestRRCursorOnDelete(t *testing.T) {
	h := newHarness(t, "rr", 0)
	m := h.addAll(nil, ".1", ".2", ".3", ".4") // list .4 .3 .2 .1
	expectSeq(t, "first", h.syns(2), ".4", ".3")
	h.del(m[".3"]) // the cursor: moves to .4
	expectSeq(t, "after deleting the cursor", h.syns(3), ".2", ".1", ".4")
	h.del(m[".4"]) // the cursor, first in the list: back to the head
	expectSeq(t, "after deleting the first", h.syns(2), ".2", ".1")
	h.add("10.8.0.5", 80, 1) // list .5 .2 .1, cursor .1
	expectSeq(t, "after adding", h.syns(3), ".5", ".2", ".1")
	h.del(m[".2"]) // not the cursor (.1): nothing moves
	expectSeq(t, "after deleting another", h.syns(2), ".5", ".1")
}

// Scenario 36 [V]: upper threshold, rr skips the OVERLOADED dest.
func TestRRUpperThreshold(t *testing.T) {
	h := newHarness(t, "rr", 0)
	h.addCfg(ipvs.DestConfig{Addr: addr("10.8.0.10"), Port: 80, Weight: 1, UThreshold: 1})
	h.add("10.8.0.11", 80, 1)
	expectSeq(t, "rr -x 1", h.syns(4), ".11", ".10", ".11", ".11")
}

// Scenario 58: rr with every weight 0 fails; wrr fails at once (mw = 0).
func TestWeightZeroEverywhere(t *testing.T) {
	for _, n := range Names() {
		h := newHarness(t, n, 0)
		h.addAll(map[string]int32{".1": 0, ".2": 0}, ".1", ".2")
		if d := h.syn("10.9.0.1"); d != nil {
			t.Errorf("%s: all weights 0 gave %s", n, name(d))
		}
	}
}

// Scenario 49: a new binding of rr (ip_vs_rr_init_svc) starts at the head.
func TestRRRebind(t *testing.T) {
	h := newHarness(t, "rr", 0)
	h.addAll(nil, ".1", ".2", ".3")
	expectSeq(t, "rr", h.syns(2), ".3", ".2")
	h.sch.(*rr).InitService(h.s)
	expectSeq(t, "rebound", h.syns(1), ".3")
}

// ip_vs_wrr.c: ip_vs_wrr_dest_changed, ip_vs_wrr_schedule. Scenario 20 [V]:
// after configuration cw is 1, not the maximum weight.
func TestWRRSequences(t *testing.T) {
	h := newHarness(t, "wrr", 0)
	h.addAll(map[string]int32{".3": 3, ".4": 1}, ".3", ".4")
	expectSeq(t, "wrr .3 w3, .4 w1", h.syns(9), ".4", ".3", ".3", ".3", ".4", ".3", ".3", ".3", ".4")

	h = newHarness(t, "wrr", 0)
	h.addAll(map[string]int32{".5": 3, ".4": 2, ".6": 0}, ".5", ".4", ".6")
	expectSeq(t, "wrr .5 w3, .4 w2, .6 w0", h.syns(9), ".4", ".5", ".5", ".4", ".5", ".4", ".5", ".5", ".4")
}

// ip_vs_wrr.c: ip_vs_wrr_init_svc sets cw = mw, unlike the hooks: binding
// wrr to a service that already has dests starts with the heaviest.
func TestWRRInitService(t *testing.T) {
	h := newHarness(t, "wrr", 0)
	h.addAll(map[string]int32{".3": 3, ".4": 1}, ".3", ".4")
	h.sch.(*wrr).InitService(h.s)
	expectSeq(t, "wrr rebound", h.syns(8), ".3", ".3", ".4", ".3", ".3", ".3", ".4", ".3")
}

// Weight changes mid-stream: every hook puts cl back to the head and keeps
// cw unless above the new mw (or rounds it to a multiple of di plus one).
func TestWRRRestartOnChange(t *testing.T) {
	h := newHarness(t, "wrr", 0)
	m := h.addAll(map[string]int32{".1": 4, ".2": 2}, ".1", ".2") // list .2 .1; di 2, mw 3
	x := h.sch.(*wrr)
	if x.di != 2 || x.mw != 3 || x.cw != 1 {
		t.Fatalf("after adds: di %d mw %d cw %d, want 2 3 1", x.di, x.mw, x.cw)
	}
	// cw 1: .2 .1, then cw 3: .1, then cw 1: .2 .1 ...
	expectSeq(t, "w4/w2", h.syns(5), ".2", ".1", ".1", ".2", ".1")
	h.edit(m[".2"], 6) // di 2, mw 5; cw 1 becomes (1/2)*2+1 = 1; cl = head
	if x.di != 2 || x.mw != 5 || x.cw != 1 || x.cl != nil {
		t.Fatalf("after edit: di %d mw %d cw %d cl %v, want 2 5 1 head", x.di, x.mw, x.cw, x.cl)
	}
	// cw 1: .2 .1; cw 5 (restart): .2; cw 3: .2 .1
	expectSeq(t, "after edit", h.syns(5), ".2", ".1", ".2", ".2", ".1")
	h.edit(m[".2"], 1) // di 1, mw 4, cw 3 kept; cl = head
	if x.di != 1 || x.mw != 4 || x.cw != 3 || x.cl != nil {
		t.Fatalf("after second edit: di %d mw %d cw %d cl %v, want 1 4 3 head", x.di, x.mw, x.cw, x.cl)
	}
	// cw 3: .1; cw 2: .1; cw 1: .2 .1; cw 4 (restart): .1; cw 3: .1
	expectSeq(t, "after second edit", h.syns(6), ".1", ".1", ".2", ".1", ".1", ".1")
	h.del(m[".1"]) // di 1, mw 1, cw 3 > 1 becomes 1
	expectSeq(t, "after delete", h.syns(2), ".2", ".2")
	h.del(m[".2"])
	if d := h.syn("10.9.0.1"); d != nil || x.mw != 0 {
		t.Fatalf("no dests: got %s, mw %d", name(d), x.mw)
	}
}

// The last-pass rule of ip_vs_wrr_schedule: with every dest OVERLOADED the
// walk ends after checking all dests for weight >= 1, whatever cl.
func TestWRRAllOverloaded(t *testing.T) {
	h := newHarness(t, "wrr", 0)
	m := h.addAll(map[string]int32{".1": 3, ".2": 2, ".3": 1}, ".1", ".2", ".3")
	expectSeq(t, "start", h.syns(2), ".3", ".2")
	for _, d := range m {
		d.SetTestCounters(d.ActiveConns(), d.TotalConns(), true)
	}
	if d := h.syn("10.9.1.1"); d != nil {
		t.Fatalf("all overloaded gave %s", name(d))
	}
	m[".3"].SetTestCounters(0, 0, false)
	if d := h.syn("10.9.1.2"); d != m[".3"] {
		t.Fatalf("only .3 free gave %s", name(d))
	}
}

// Scenario 18 [V]: ip_vs_lc.c: ip_vs_lc_schedule, ties to the newest dest.
func TestLC(t *testing.T) {
	h := newHarness(t, "lc", 0)
	h.addAll(nil, ".7", ".8", ".9")
	expectSeq(t, "lc", h.syns(4), ".9", ".8", ".7", ".9")
}

// Scenario 19 [V]: ip_vs_wlc.c: ip_vs_wlc_schedule.
func TestWLC(t *testing.T) {
	h := newHarness(t, "wlc", 0)
	h.addAll(map[string]int32{".5": 1, ".6": 2}, ".5", ".6")
	expectSeq(t, "wlc", h.syns(6), ".6", ".5", ".6", ".6", ".5", ".6")
}

// Scenario 37 [V]: wlc with every dest overloaded fails.
func TestWLCAllOverloaded(t *testing.T) {
	h := newHarness(t, "wlc", 0)
	h.addCfg(ipvs.DestConfig{Addr: addr("10.8.0.12"), Port: 80, Weight: 1, UThreshold: 1})
	h.addCfg(ipvs.DestConfig{Addr: addr("10.8.0.13"), Port: 80, Weight: 1, UThreshold: 1})
	expectSeq(t, "wlc -x 1", h.syns(3), ".13", ".12", "-")
}

// Scenario 21 [V]: ip_vs_sed.c: ip_vs_sed_schedule.
func TestSED(t *testing.T) {
	h := newHarness(t, "sed", 0)
	h.addAll(map[string]int32{".7": 1, ".8": 3}, ".7", ".8")
	expectSeq(t, "sed", h.syns(8), ".8", ".8", ".8", ".7", ".8", ".8", ".8", ".7")
}

// Scenario 22 [V]: ip_vs_nq.c: ip_vs_nq_schedule.
func TestNQ(t *testing.T) {
	h := newHarness(t, "nq", 0)
	h.addAll(map[string]int32{".9": 1, ".10": 3}, ".9", ".10")
	expectSeq(t, "nq", h.syns(8), ".10", ".9", ".10", ".10", ".10", ".10", ".10", ".9")
}

// Scenario 23 [V]: ip_vs_fo.c: ip_vs_fo_schedule.
func TestFO(t *testing.T) {
	h := newHarness(t, "fo", 0)
	m := h.addAll(map[string]int32{".11": 1, ".12": 5, ".13": 5}, ".11", ".12", ".13")
	expectSeq(t, "fo", h.syns(3), ".13", ".13", ".13")
	m[".13"].SetTestCounters(0, 0, true)
	expectSeq(t, "fo, .13 overloaded", h.syns(1), ".12")
}

// Scenario 24 [V]: ip_vs_ovf.c: ip_vs_ovf_schedule, then no dest.
func TestOVF(t *testing.T) {
	h := newHarness(t, "ovf", 0)
	h.addAll(map[string]int32{".14": 2, ".15": 1}, ".14", ".15")
	expectSeq(t, "ovf", h.syns(6), ".14", ".14", ".14", ".15", ".15", "-")
}

// Scenario 25 [V]: ip_vs_lblc.c: ip_vs_lblc_schedule, one VIP.
func TestLBLC(t *testing.T) {
	h := newHarness(t, "lblc", 0)
	h.addAll(nil, ".16", ".17")
	expectSeq(t, "lblc", h.syns(6), ".17", ".17", ".16", ".16", ".16", ".16")
}

// lblc reuses a cached dest even when OVERLOADED, but not a deleted one.
func TestLBLCCachedDest(t *testing.T) {
	h := newHarness(t, "lblc", 0)
	m := h.addAll(nil, ".1", ".2")
	expectSeq(t, "first", h.syns(1), ".2")
	m[".2"].SetTestCounters(1, 1, true)
	expectSeq(t, "cached, overloaded", h.syns(1), ".2")
	m[".2"].SetTestCounters(1, 2, false)
	h.del(m[".2"])
	expectSeq(t, "cached dest deleted", h.syns(1), ".1")
	h.edit(m[".1"], 0)
	expectSeq(t, "cached dest quiesced, no other", h.syns(1), "-")
}

// Scenario 26 [V]: ip_vs_lblcr.c: ip_vs_lblcr_schedule.
func TestLBLCR(t *testing.T) {
	h := newHarness(t, "lblcr", 0)
	h.addAll(nil, ".18", ".19")
	expectSeq(t, "lblcr", h.syns(6), ".19", ".19", ".18", ".18", ".18", ".19")
}

// Scenario 27 [V]: ip_vs_dh.c: ip_vs_dh_schedule, bucket 39 and no
// fallback; an edit does not rebuild the table, add and delete do.
func TestDH(t *testing.T) {
	h := newHarness(t, "dh", 0)
	m := h.addAll(nil, ".1", ".2")
	expectSeq(t, "dh", h.syns(2), ".1", ".1")
	h.edit(m[".1"], 0)
	expectSeq(t, "dh .1 quiesced", h.syns(1), "-")
	h.edit(m[".1"], 1)
	h.add("10.8.0.3", 80, 1) // list .3 .2 .1: bucket 39 -> 39 mod 3 = 0
	expectSeq(t, "dh after add", h.syns(1), ".3")
	x := h.sch.(*dh)
	for i, d := range x.tab {
		if want := h.s.Dests()[i%3]; d != want {
			t.Fatalf("bucket %d: %s, want %s", i, name(d), name(want))
		}
	}
	h.del(m[".2"])
	if d := x.tab[39]; d != m[".1"] { // list .3 .1
		t.Fatalf("after delete bucket 39 is %s", name(d))
	}
}

// Scenario 28 [V]: ip_vs_sh.c: ip_vs_sh_reassign with weights.
func TestSHWeights(t *testing.T) {
	h := newHarness(t, "sh", 0)
	h.addAll(map[string]int32{".8": 1, ".9": 2, ".10": 1}, ".8", ".9", ".10")
	x := h.sch.(*sh)
	pattern := []string{".10", ".9", ".9", ".8"}
	for i, d := range x.tab {
		if name(d) != pattern[i%4] {
			t.Fatalf("bucket %d: %s, want %s", i, name(d), pattern[i%4])
		}
	}
	expectSeq(t, "sh clients", h.picks(clients(8)), ".10", ".9", ".8", ".9", ".8", ".9", ".9", ".10")
	expectSeq(t, "sh others", h.picks([]string{"10.9.1.7", "10.9.2.9", "10.9.3.33", "10.9.200.1"}), ".8", ".8", ".9", ".9")
}

var otherClients = []string{"10.9.1.7", "10.9.2.9", "10.9.3.33", "10.9.200.1"}
var otherPorts = []uint16{41000, 42000, 43000, 44000}

func clientPorts(n int) []uint16 {
	var ps []uint16
	for i := 1; i <= n; i++ {
		ps = append(ps, uint16(40000+i))
	}
	return ps
}

// Scenario 29 [V]: sh-port (IP_VS_SVC_F_SCHED_SH_PORT).
func TestSHPort(t *testing.T) {
	h := newHarness(t, "sh", ipvs.SvcSched2)
	h.addAll(nil, ".11", ".12")
	expectSeq(t, "sh-port", h.picks(clients(8), clientPorts(8)...), ".12", ".11", ".11", ".12", ".12", ".11", ".11", ".12")
	expectSeq(t, "sh-port others", h.picks(otherClients, otherPorts...), ".12", ".12", ".12", ".12")
}

// Scenario 30 [V]: sh-fallback probes from bucket 2h
// (ip_vs_sh.c: ip_vs_sh_get_fallback); the edit rebuilds the table.
func TestSHFallback(t *testing.T) {
	h := newHarness(t, "sh", ipvs.SvcSched1)
	m := h.addAll(nil, ".1", ".2", ".3")
	before := []string{".1", ".3", ".2", ".1", ".2", ".3", ".3", ".1", ".2", ".1", ".2", ".2"}
	expectSeq(t, "sh-fallback", h.picks(clients(12)), before...)
	h.edit(m[".3"], 0)
	after := append([]string(nil), before...)
	after[1], after[5], after[6] = ".2", ".1", ".2"
	expectSeq(t, "sh-fallback, .3 quiesced", h.picks(clients(12)), after...)
	// Without the fallback flag, the same clients fail.
	h2 := newHarness(t, "sh", 0)
	m2 := h2.addAll(nil, ".1", ".2", ".3")
	h2.edit(m2[".3"], 0)
	after[1], after[5], after[6] = "-", "-", "-"
	expectSeq(t, "sh, .3 quiesced", h2.picks(clients(12)), after...)
}

// Appendix A.1 [V]: ip_vs_mh.c: ip_vs_mh_populate for three equal dests.
func TestMHTable(t *testing.T) {
	h := newHarness(t, "mh", 0)
	h.addAll(nil, ".1", ".2", ".3")
	x := h.sch.(*mh)
	count := map[string]int{}
	for _, d := range x.lookup {
		count[name(d)]++
	}
	if count[".3"] != 1365 || count[".2"] != 1364 || count[".1"] != 1364 || len(count) != 3 {
		t.Fatalf("slot counts %v, want .3 1365 .2 1364 .1 1364", count)
	}
	var first []string
	for _, d := range x.lookup[:12] {
		first = append(first, name(d))
	}
	expectSeq(t, "slots 0..11", first, ".1", ".3", ".2", ".2", ".3", ".3", ".2", ".3", ".3", ".1", ".1", ".2")
	for _, c := range []struct {
		client string
		slot   int
		dest   string
	}{{"10.9.0.1", 124, ".1"}, {"10.9.0.3", 3145, ".3"}, {"10.9.0.8", 3360, ".2"}} {
		if got := name(x.lookup[c.slot]); got != c.dest {
			t.Errorf("slot %d is %s, want %s", c.slot, got, c.dest)
		}
		if got := name(h.pick(c.client, 0)); got != c.dest {
			t.Errorf("%s -> %s, want %s", c.client, got, c.dest)
		}
	}
}

// Scenario 31 [V]: mh mapping.
func TestMHMapping(t *testing.T) {
	h := newHarness(t, "mh", 0)
	h.addAll(nil, ".1", ".2", ".3")
	expectSeq(t, "mh", h.picks(clients(8)), ".1", ".1", ".3", ".3", ".1", ".3", ".1", ".2")
	expectSeq(t, "mh others", h.picks(otherClients), ".2", ".1", ".2", ".2")
}

// Scenario 32 [V]: mh weights (3070 vs 1023 slots).
func TestMHWeights(t *testing.T) {
	h := newHarness(t, "mh", 0)
	h.addAll(map[string]int32{".4": 1, ".5": 3}, ".4", ".5")
	count := map[string]int{}
	for _, d := range h.sch.(*mh).lookup {
		count[name(d)]++
	}
	if count[".5"] != 3070 || count[".4"] != 1023 {
		t.Fatalf("slot counts %v, want .5 3070 .4 1023", count)
	}
	expectSeq(t, "mh weights", h.picks(clients(8)), ".5", ".5", ".4", ".5", ".5", ".5", ".4", ".5")
	expectSeq(t, "mh weights others", h.picks(otherClients), ".5", ".5", ".5", ".5")
}

// Scenario 33 [V]: mh-port.
func TestMHPort(t *testing.T) {
	h := newHarness(t, "mh", ipvs.SvcSched2)
	h.addAll(nil, ".6", ".7")
	expectSeq(t, "mh-port", h.picks(clients(8), clientPorts(8)...), ".7", ".7", ".7", ".7", ".6", ".6", ".6", ".7")
	expectSeq(t, "mh-port others", h.picks(otherClients, otherPorts...), ".7", ".7", ".7", ".7")
}

// Scenario 34 [V]: mh-fallback after quiescing; the table is rebuilt from
// last_weight, so it does not change.
func TestMHFallback(t *testing.T) {
	h := newHarness(t, "mh", ipvs.SvcSched1)
	m := h.addAll(nil, ".4", ".5", ".6")
	expectSeq(t, "mh-fallback", h.picks(clients(12)), ".6", ".5", ".4", ".6", ".6", ".6", ".6", ".4", ".5", ".6", ".6", ".5")
	before := append([]*ipvs.Dest(nil), h.sch.(*mh).lookup...)
	h.edit(m[".6"], 0)
	for i, d := range h.sch.(*mh).lookup {
		if d != before[i] {
			t.Fatalf("slot %d changed on quiescing", i)
		}
	}
	expectSeq(t, "mh-fallback, .6 quiesced", h.picks(clients(12)), ".4", ".5", ".4", ".5", ".4", ".5", ".5", ".4", ".5", ".4", ".4", ".5")
}

// Scenario 35 [V]: mh without fallback fails for quiesced slots.
func TestMHNoFallback(t *testing.T) {
	h := newHarness(t, "mh", 0)
	m := h.addAll(nil, ".7", ".8")
	expectSeq(t, "mh", h.picks(clients(12)), ".8", ".7", ".8", ".7", ".7", ".7", ".7", ".8", ".8", ".8", ".8", ".8")
	h.edit(m[".8"], 0)
	expectSeq(t, "mh, .8 quiesced", h.picks(clients(12)), "-", ".7", "-", ".7", ".7", ".7", ".7", "-", "-", "-", "-", "-")
}

// mh rebuilds on add, delete and edit; a dest added with weight 0 gets no
// slot (ip_vs_mh.c: ip_vs_mh_populate "Ignore added server with zero
// weight"); without any positive last_weight the table is emptied.
func TestMHChanges(t *testing.T) {
	h := newHarness(t, "mh", 0)
	m := h.addAll(nil, ".1", ".2", ".3")
	z := h.add("10.8.0.4", 80, 0)
	x := h.sch.(*mh)
	count := map[*ipvs.Dest]int{}
	for _, d := range x.lookup {
		count[d]++
	}
	if count[z] != 0 || count[m[".1"]]+count[m[".2"]]+count[m[".3"]] != mhTabSize {
		t.Fatalf("weight-0 dest got %d slots", count[z])
	}
	h.edit(m[".1"], 2) // .1 gets about half
	clear(count)
	for _, d := range x.lookup {
		count[d]++
	}
	if c := count[m[".1"]]; c < 2000 || c > 2100 {
		t.Fatalf(".1 with weight 2 of 4 has %d slots", c)
	}
	for _, d := range []*ipvs.Dest{m[".1"], m[".2"], m[".3"]} {
		h.del(d)
	}
	for i, d := range x.lookup {
		if d != nil {
			t.Fatalf("slot %d still %s with only a weight-0 dest", i, name(d))
		}
	}
	if d := h.pick("10.9.0.1", 0); d != nil {
		t.Fatalf("got %s", name(d))
	}
}

// ip_vs_mh.c: ip_vs_mh_shift_weight: big weight ratios are shifted to
// IP_VS_MH_TAB_BITS bits, and a small weight still gets one turn.
func TestMHShift(t *testing.T) {
	h := newHarness(t, "mh", 0)
	a := h.add("10.8.0.1", 80, 1)
	b := h.add("10.8.0.2", 80, 1000) // 1000 has 10 bits: shift 4, turns 62 and 1
	x := h.sch.(*mh)
	if x.gcd != 1 || x.rshift != 4 {
		t.Fatalf("gcd %d rshift %d, want 1 4", x.gcd, x.rshift)
	}
	n := 0
	for _, d := range x.lookup {
		if d == a {
			n++
		}
	}
	if n != 64 { // 64 passes of 62+1 slots, then .2 (first in the list) fills the rest
		t.Fatalf("weight-1 dest has %d slots", n)
	}
	_ = b
}

// ip_vs_sh.c and ip_vs_mh.c hash the folded IPv6 address; the port is
// only used for TCP, UDP and SCTP.
func TestHashPortProtocols(t *testing.T) {
	p := &ipvs.Packet{Protocol: ipvs.ProtoTCP, SrcPort: 1234}
	for _, c := range []struct {
		proto uint8
		want  uint16
	}{{ipvs.ProtoTCP, 1234}, {ipvs.ProtoUDP, 1234}, {ipvs.ProtoSCTP, 1234}, {1, 0}, {50, 0}} {
		p.Protocol = c.proto
		if got := hashPort(p); got != c.want {
			t.Errorf("proto %d: port %d, want %d", c.proto, got, c.want)
		}
	}
}

// IPv6: the hashing schedulers fold the address (XOR of its four words, in
// host order: ip_vs_sh_hashkey, ip_vs_mh_hashkey, ip_vs_lblc_hashkey); mh
// reads an IPv6 dest of an IPv4 service by its first word (svc->af).
func TestIPv6Hashing(t *testing.T) {
	a := addr("2001:db8::1:2")
	want := uint32(0x20010db8) ^ 0 ^ 0 ^ 0x00010002
	if got := ipvs.AddrHash(a); got != want {
		t.Fatalf("fold %#x, want %#x", got, want)
	}
	cfg := ipvs.ServiceConfig{ServiceKey: ipvs.ServiceKey{Family: ipvs.AFInet, Protocol: ipvs.ProtoTCP, Addr: vip, Port: 80}}
	s := ipvs.NewSchedTestService(cfg, []ipvs.DestState{{Addr: a, Port: 80, Weight: 1}, {Addr: addr("10.8.0.1"), Port: 80, Weight: 1}})
	if got := mhDestFold(s, s.Dests()[0]); got != 0x20010db8 {
		t.Errorf("IPv6 dest of an IPv4 service folds to %#x, want 0x20010db8", got)
	}
	if got := mhDestFold(s, s.Dests()[1]); got != 0x0a080001 {
		t.Errorf("IPv4 dest folds to %#x", got)
	}
	cfg6 := ipvs.ServiceConfig{ServiceKey: ipvs.ServiceKey{Family: ipvs.AFInet6, Protocol: ipvs.ProtoTCP, Addr: addr("2001:db8::80"), Port: 80}}
	s6 := ipvs.NewSchedTestService(cfg6, []ipvs.DestState{{Addr: addr("2001:db8::a"), Port: 80, Weight: 1}, {Addr: addr("2001:db8::b"), Port: 80, Weight: 1}})
	if got := mhDestFold(s6, s6.Dests()[0]); got != 0x20010db8^0xa {
		t.Errorf("IPv6 dest of an IPv6 service folds to %#x", got)
	}
	p := &ipvs.Packet{Family: ipvs.AFInet6, Protocol: ipvs.ProtoTCP, Src: a, Dst: addr("2001:db8::80"), SrcPort: 5000}
	for _, n := range []string{"sh", "mh", "dh", "lblc", "lblcr"} {
		x, _ := New(n)
		x.(interface{ InitService(*ipvs.Service) }).InitService(s6)
		d := x.Schedule(s6, p, 0)
		if d == nil {
			t.Errorf("%s: no dest for an IPv6 client", n)
			continue
		}
		var idx uint32
		switch n {
		case "sh":
			idx = shHashKey(want, 0, 0) // bucket i -> dest i mod 2 (weights 1)
		case "dh":
			idx = hash32(ipvs.AddrHash(p.Dst), dhTabBits)
		default:
			continue
		}
		if d != s6.Dests()[idx%2] {
			t.Errorf("%s: bucket %d gave dest %d", n, idx, d.Index())
		}
	}
}
