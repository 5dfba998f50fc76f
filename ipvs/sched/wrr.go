package sched

import "github.com/golvs/golvs/ipvs"

// wrr is the weighted round-robin scheduler (ip_vs_wrr.c); its fields are
// struct ip_vs_wrr_mark. The zero value is the mark of a service without
// dests except di (1 there), which every hook and InitService recompute.
type wrr struct {
	inited bool
	cl     *ipvs.Dest // current dest, nil for the list head
	cw     int32      // current weight
	mw     int32      // maximum weight, less (di - 1)
	di     int32      // decreasing interval: gcd of the positive weights
}

func (x *wrr) Name() string { return "wrr" }

// gcdWeight is ip_vs_wrr.c: ip_vs_wrr_gcd_weight (1 when no weight > 0).
func wrrGCDWeight(ds []*ipvs.Dest) int32 {
	var g int32
	for _, d := range ds {
		if w := d.Weight(); w > 0 {
			if g > 0 {
				g = gcd(w, g)
			} else {
				g = w
			}
		}
	}
	if g == 0 {
		return 1
	}
	return g
}

// wrrMaxWeight is ip_vs_wrr.c: ip_vs_wrr_max_weight.
func wrrMaxWeight(ds []*ipvs.Dest) int32 {
	var m int32
	for _, d := range ds {
		m = max(m, d.Weight())
	}
	return m
}

// InitService is ip_vs_wrr.c: ip_vs_wrr_init_svc: cl = head, di = gcd,
// mw = max - (di - 1), cw = mw.
func (x *wrr) InitService(s *ipvs.Service) {
	ds := s.Dests()
	x.inited = true
	x.cl = nil
	x.di = wrrGCDWeight(ds)
	x.mw = wrrMaxWeight(ds) - (x.di - 1)
	x.cw = x.mw
}

// changed is ip_vs_wrr.c: ip_vs_wrr_dest_changed, the add, del and upd hook.
func (x *wrr) changed(s *ipvs.Service) {
	ds := s.Dests()
	x.inited = true
	x.cl = nil
	x.di = wrrGCDWeight(ds)
	x.mw = wrrMaxWeight(ds) - (x.di - 1)
	if x.cw > x.mw || x.cw == 0 {
		x.cw = x.mw
	} else if x.di > 1 {
		x.cw = (x.cw/x.di)*x.di + 1
	}
}

// AddDest is ip_vs_wrr_dest_changed.
func (x *wrr) AddDest(s *ipvs.Service, _ *ipvs.Dest) { x.changed(s) }

// DelDest is ip_vs_wrr_dest_changed.
func (x *wrr) DelDest(s *ipvs.Service, _, _ *ipvs.Dest) { x.changed(s) }

// UpdDest is ip_vs_wrr_dest_changed.
func (x *wrr) UpdDest(s *ipvs.Service, _ *ipvs.Dest) { x.changed(s) }

// Preview returns what Schedule would pick, running the walk on a copy of
// the mark.
func (x *wrr) Preview(s *ipvs.Service, p *ipvs.Packet, now ipvs.Time) *ipvs.Dest {
	c := *x
	return c.Schedule(s, p, now)
}

// Schedule is ip_vs_wrr.c: ip_vs_wrr_schedule: walk from the dest after cl
// for one that is not OVERLOADED with weight >= cw; at the end of the list
// lower cw by di (back to mw below 1) and continue from the head, stopping
// after a full pass with cw <= di ("last pass").
func (x *wrr) Schedule(s *ipvs.Service, _ *ipvs.Packet, _ ipvs.Time) *ipvs.Dest {
	if !x.inited {
		x.InitService(s)
	}
	ds := s.Dests()
	pos := -1 // index of dest; -1: the list head
	if c := x.cl; c != nil {
		if i := c.Index(); i >= 0 && i < len(ds) && ds[i] == c {
			pos = i
		}
	}
	if x.mw == 0 {
		return nil // err_noavail; cl stays
	}
	last := pos
	stop := -2 // index of the dest to stop after; -2: none
	lastPass, restarted := false, false
	for {
		for pos++; pos < len(ds); pos++ {
			d := ds[pos]
			if !d.Overloaded() && d.Weight() >= x.cw {
				x.cl = d
				return d
			}
			if pos == stop {
				x.cl = d // err_over: cl = dest
				return nil
			}
		}
		pos = -1 // the walk reached the list head
		x.cw -= x.di
		if x.cw <= 0 {
			x.cw = x.mw
			// Stop if the last pass was done or the walk began at the
			// head: every dest was then checked for weight >= 1.
			if lastPass || last == -1 {
				x.cl = nil
				return nil
			}
			restarted = true
		}
		lastPass = x.cw <= x.di
		if lastPass && restarted && last != -1 {
			// The first traversal for weight >= 1 covered only the dests
			// after last; now check those up to last.
			stop = last
		}
	}
}
