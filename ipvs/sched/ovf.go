package sched

import "github.com/golvs/golvs/ipvs"

// ovf is the overflow-connection scheduler (ip_vs_ovf.c). It keeps no state.
type ovf struct{}

func (ovf) Name() string { return "ovf" }

// Schedule is ip_vs_ovf.c: ip_vs_ovf_schedule: among the dests that are not
// OVERLOADED, have a non-zero weight and no more active connections than
// their weight, the one with the highest weight; ties keep the first.
func (ovf) Schedule(s *ipvs.Service, _ *ipvs.Packet, _ ipvs.Time) *ipvs.Dest {
	var h *ipvs.Dest
	var hw int32
	for _, d := range s.Dests() {
		w := d.Weight()
		if d.Overloaded() || d.ActiveConns() > w || w == 0 {
			continue
		}
		if h == nil || w > hw {
			h, hw = d, w
		}
	}
	return h
}

// Preview is Schedule, which changes nothing.
func (ovf) Preview(s *ipvs.Service, p *ipvs.Packet, now ipvs.Time) *ipvs.Dest {
	return ovf{}.Schedule(s, p, now)
}
