package sched

import "github.com/golvs/golvs/ipvs"

// nq is the never-queue scheduler (ip_vs_nq.c). It keeps no state.
type nq struct{}

func (nq) Name() string { return "nq" }

// Schedule is ip_vs_nq.c: ip_vs_nq_schedule: skipping OVERLOADED and
// weight-0 dests, the first idle dest (activeconns == 0) is taken at once;
// otherwise the one with the smallest (activeconns+1)/weight, strict
// cross-multiplication in 64 bits, the first eligible dest as the initial
// candidate.
func (nq) Schedule(s *ipvs.Service, _ *ipvs.Packet, _ ipvs.Time) *ipvs.Dest {
	var least *ipvs.Dest
	var loh, lw int64
	for _, d := range s.Dests() {
		w := d.Weight()
		if d.Overloaded() || w == 0 {
			continue
		}
		if d.ActiveConns() == 0 {
			return d
		}
		doh, dw := int64(sedOverhead(d)), int64(w)
		if least == nil || loh*dw > doh*lw {
			least, loh, lw = d, doh, dw
		}
	}
	return least
}

// Preview is Schedule, which changes nothing.
func (nq) Preview(s *ipvs.Service, p *ipvs.Packet, now ipvs.Time) *ipvs.Dest {
	return nq{}.Schedule(s, p, now)
}
