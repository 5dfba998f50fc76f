package sched

import "github.com/golvs/golvs/ipvs"

// fo is the weighted fail-over scheduler (ip_vs_fo.c). It keeps no state.
type fo struct{}

func (fo) Name() string { return "fo" }

// Schedule is ip_vs_fo.c: ip_vs_fo_schedule: the dest that is not
// OVERLOADED with the highest weight (> 0); ties keep the first (newest).
func (fo) Schedule(s *ipvs.Service, _ *ipvs.Packet, _ ipvs.Time) *ipvs.Dest {
	var h *ipvs.Dest
	var hw int32
	for _, d := range s.Dests() {
		if w := d.Weight(); !d.Overloaded() && w > hw {
			h, hw = d, w
		}
	}
	return h
}

// Preview is Schedule, which changes nothing.
func (fo) Preview(s *ipvs.Service, p *ipvs.Packet, now ipvs.Time) *ipvs.Dest {
	return fo{}.Schedule(s, p, now)
}
