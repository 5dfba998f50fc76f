package sched

import "github.com/golvs/golvs/ipvs"

// lc is the least-connection scheduler (ip_vs_lc.c). It keeps no state.
type lc struct{}

func (lc) Name() string { return "lc" }

// Schedule is ip_vs_lc.c: ip_vs_lc_schedule: among the dests that are not
// OVERLOADED and have a non-zero weight, the first with the smallest
// connection overhead (compared as the kernel's unsigned int).
func (lc) Schedule(s *ipvs.Service, _ *ipvs.Packet, _ ipvs.Time) *ipvs.Dest {
	var least *ipvs.Dest
	var loh uint32
	for _, d := range s.Dests() {
		if d.Overloaded() || d.Weight() == 0 {
			continue
		}
		doh := uint32(overhead(d))
		if least == nil || doh < loh {
			least, loh = d, doh
		}
	}
	return least
}

// Preview is Schedule, which changes nothing.
func (lc) Preview(s *ipvs.Service, p *ipvs.Packet, now ipvs.Time) *ipvs.Dest {
	return lc{}.Schedule(s, p, now)
}
