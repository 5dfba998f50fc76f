package sched

import "github.com/golvs/golvs/ipvs"

const dhTabBits = 8 // CONFIG_IP_VS_DH_TAB_BITS

// dh is the destination-hashing scheduler (ip_vs_dh.c); tab is struct
// ip_vs_dh_state.
type dh struct {
	inited bool
	tab    [1 << dhTabBits]*ipvs.Dest
}

func (x *dh) Name() string { return "dh" }

// reassign is ip_vs_dh.c: ip_vs_dh_reassign: bucket i holds dest number
// i mod n in list order, weights ignored; all empty without dests.
func (x *dh) reassign(s *ipvs.Service) {
	x.inited = true
	ds := s.Dests()
	for i := range x.tab {
		if len(ds) == 0 {
			x.tab[i] = nil
		} else {
			x.tab[i] = ds[i%len(ds)]
		}
	}
}

// InitService is ip_vs_dh.c: ip_vs_dh_init_svc.
func (x *dh) InitService(s *ipvs.Service) { x.reassign(s) }

// AddDest is ip_vs_dh.c: ip_vs_dh_dest_changed.
func (x *dh) AddDest(s *ipvs.Service, _ *ipvs.Dest) { x.reassign(s) }

// DelDest is ip_vs_dh.c: ip_vs_dh_dest_changed.
func (x *dh) DelDest(s *ipvs.Service, _, _ *ipvs.Dest) { x.reassign(s) }

// UpdDest does nothing: the kernel's dh has no upd_dest, so an edit does
// not rebuild the table.
func (x *dh) UpdDest(*ipvs.Service, *ipvs.Dest) {}

// Schedule is ip_vs_dh.c: ip_vs_dh_schedule: the bucket of the packet's
// destination address (ip_vs_dh_hashkey: hash_32 of the folded address, 8
// bits) if its dest is AVAILABLE, has weight > 0 and is not OVERLOADED;
// otherwise no dest (there is no fallback).
func (x *dh) Schedule(s *ipvs.Service, p *ipvs.Packet, _ ipvs.Time) *ipvs.Dest {
	if !x.inited {
		x.reassign(s)
	}
	d := x.tab[hash32(ipvs.AddrHash(p.Dst), dhTabBits)]
	if d == nil || !d.Available() || d.Weight() <= 0 || d.Overloaded() {
		return nil
	}
	return d
}

// Preview is Schedule, which changes nothing but builds the table on first
// use (what init_service would have built).
func (x *dh) Preview(s *ipvs.Service, p *ipvs.Packet, now ipvs.Time) *ipvs.Dest {
	return x.Schedule(s, p, now)
}
