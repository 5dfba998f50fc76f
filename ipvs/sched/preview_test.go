package sched

import (
	"testing"

	"github.com/golvs/golvs/ipvs"
)

// Preview names the dest the next Schedule picks and changes nothing: a
// twin service that is never previewed makes the same decisions.
func TestPreview(t *testing.T) {
	for _, n := range Names() {
		flags := ipvs.SvcSched1
		a, b := newHarness(t, n, flags), newHarness(t, n, flags)
		pv, ok := a.sch.(ipvs.Previewer)
		switch n {
		case "twos", "lblc", "lblcr":
			if ok {
				t.Errorf("%s previews, but its decision has side effects", n)
			}
			continue
		}
		if !ok {
			t.Errorf("%s does not preview", n)
			continue
		}
		var da, db []*ipvs.Dest
		for i, w := range []int32{3, 1, 2, 0, 2} {
			da = append(da, a.add("10.8.0."+itoa(i+1), 80, w))
			db = append(db, b.add("10.8.0."+itoa(i+1), 80, w))
		}
		for step := range 300 {
			if step == 100 {
				a.edit(da[2], 5)
				b.edit(db[2], 5)
			}
			if step == 200 {
				a.del(da[0])
				b.del(db[0])
			}
			if step%7 == 0 { // make one dest OVERLOADED for a while
				da[1].SetTestCounters(da[1].ActiveConns(), da[1].TotalConns(), step%14 == 0)
				db[1].SetTestCounters(db[1].ActiveConns(), db[1].TotalConns(), step%14 == 0)
			}
			p := a.pkt("10.9."+itoa(step/200)+"."+itoa(step%200+1), uint16(step), vip)
			p1, p2 := pv.Preview(a.s, p, 0), pv.Preview(a.s, p, 0)
			got, want := a.sch.Schedule(a.s, p, 0), b.sch.Schedule(b.s, p, 0)
			if p1 != got || p2 != got || name(got) != name(want) {
				t.Fatalf("%s step %d: previews %s %s, picked %s, twin %s", n, step, name(p1), name(p2), name(got), name(want))
			}
			a.bind(got)
			b.bind(want)
		}
	}
}
