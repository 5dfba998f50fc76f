package sched

import "github.com/golvs/golvs/ipvs"

// sed is the shortest-expected-delay scheduler (ip_vs_sed.c). It keeps no
// state.
type sed struct{}

func (sed) Name() string { return "sed" }

// Schedule is ip_vs_sed.c: ip_vs_sed_schedule: wlc's walk with the load
// activeconns + 1 (ip_vs_sed_dest_overhead).
func (sed) Schedule(s *ipvs.Service, _ *ipvs.Packet, _ ipvs.Time) *ipvs.Dest {
	return leastLoaded(s.Dests(), true)
}

// Preview is Schedule, which changes nothing.
func (sed) Preview(s *ipvs.Service, p *ipvs.Packet, now ipvs.Time) *ipvs.Dest {
	return sed{}.Schedule(s, p, now)
}
