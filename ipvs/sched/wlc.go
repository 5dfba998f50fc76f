package sched

import "github.com/golvs/golvs/ipvs"

// wlc is the weighted least-connection scheduler (ip_vs_wlc.c), ipvsadm's
// default. It keeps no state.
type wlc struct{}

func (wlc) Name() string { return "wlc" }

// Schedule is ip_vs_wlc.c: ip_vs_wlc_schedule: the dest with the smallest
// overhead/weight, by cross-multiplication (see leastLoaded).
func (wlc) Schedule(s *ipvs.Service, _ *ipvs.Packet, _ ipvs.Time) *ipvs.Dest {
	return leastLoaded(s.Dests(), false)
}

// Preview is Schedule, which changes nothing.
func (wlc) Preview(s *ipvs.Service, p *ipvs.Packet, now ipvs.Time) *ipvs.Dest {
	return wlc{}.Schedule(s, p, now)
}
