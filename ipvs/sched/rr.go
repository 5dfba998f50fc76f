package sched

import "github.com/golvs/golvs/ipvs"

// rr is the round-robin scheduler (ip_vs_rr.c). Its state is the kernel's
// svc->sched_data: the list position of the last pick, nil for the list
// head.
type rr struct {
	cur *ipvs.Dest
}

func (x *rr) Name() string { return "rr" }

// InitService is ip_vs_rr.c: ip_vs_rr_init_svc: the position is the list
// head, so the next pick starts at the newest dest.
func (x *rr) InitService(*ipvs.Service) { x.cur = nil }

// AddDest does nothing: the kernel's rr has no add_dest.
func (x *rr) AddDest(*ipvs.Service, *ipvs.Dest) {}

// UpdDest does nothing: the kernel's rr has no upd_dest.
func (x *rr) UpdDest(*ipvs.Service, *ipvs.Dest) {}

// DelDest is ip_vs_rr.c: ip_vs_rr_del_dest: when the current dest is
// unlinked, the position moves to its predecessor (the head when it was
// first), so the next pick starts at its successor.
func (x *rr) DelDest(_ *ipvs.Service, d, prev *ipvs.Dest) {
	if x.cur == d {
		x.cur = prev
	}
}

// Schedule is ip_vs_rr.c: ip_vs_rr_schedule: walk forward from the dest after
// the current position, wrapping once, to the first dest that is not
// OVERLOADED and has weight > 0; the current dest itself is the last
// candidate. From the list head, one pass is made.
func (x *rr) Schedule(s *ipvs.Service, _ *ipvs.Packet, _ ipvs.Time) *ipvs.Dest {
	d := x.next(s.Dests())
	if d != nil {
		x.cur = d
	}
	return d
}

// Preview returns what Schedule would pick, without moving the position.
func (x *rr) Preview(s *ipvs.Service, _ *ipvs.Packet, _ ipvs.Time) *ipvs.Dest {
	return x.next(s.Dests())
}

// next is the walk of ip_vs_rr_schedule.
func (x *rr) next(ds []*ipvs.Dest) *ipvs.Dest {
	last := -1 // index of the current dest; -1: the list head
	if c := x.cur; c != nil {
		// A position that is no longer in the list (the hooks were not
		// called) counts as the head, the kernel's "do not loop forever".
		if i := c.Index(); i >= 0 && i < len(ds) && ds[i] == c {
			last = i
		}
	}
	for i := last + 1; i < len(ds); i++ {
		if d := ds[i]; !d.Overloaded() && d.Weight() > 0 {
			return d
		}
	}
	for i := 0; i <= last; i++ {
		if d := ds[i]; !d.Overloaded() && d.Weight() > 0 {
			return d
		}
	}
	return nil
}
