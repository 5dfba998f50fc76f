package sched

import "github.com/golvs/golvs/ipvs"

const (
	shTabBits = 8 // CONFIG_IP_VS_SH_TAB_BITS
	shTabSize = 1 << shTabBits
	shTabMask = shTabSize - 1
)

// sh is the source-hashing scheduler (ip_vs_sh.c); tab is struct
// ip_vs_sh_state. The service flags SvcSched1 and SvcSched2 are sh-fallback
// and sh-port (IP_VS_SVC_F_SCHED_SH_FALLBACK, IP_VS_SVC_F_SCHED_SH_PORT).
type sh struct {
	inited bool
	tab    [shTabSize]*ipvs.Dest
}

func (x *sh) Name() string { return "sh" }

// reassign is ip_vs_sh.c: ip_vs_sh_reassign: walking the list cyclically,
// each dest takes as many consecutive buckets as its current weight (at
// least one).
func (x *sh) reassign(s *ipvs.Service) {
	x.inited = true
	ds := s.Dests()
	j, count := 0, int32(0)
	for i := range x.tab {
		if len(ds) == 0 {
			x.tab[i] = nil
			continue
		}
		d := ds[j]
		x.tab[i] = d
		// Don't move to the next dest until its weight is filled.
		if count++; count >= d.Weight() {
			j = (j + 1) % len(ds)
			count = 0
		}
	}
}

// InitService is ip_vs_sh.c: ip_vs_sh_init_svc.
func (x *sh) InitService(s *ipvs.Service) { x.reassign(s) }

// AddDest is ip_vs_sh.c: ip_vs_sh_dest_changed.
func (x *sh) AddDest(s *ipvs.Service, _ *ipvs.Dest) { x.reassign(s) }

// DelDest is ip_vs_sh.c: ip_vs_sh_dest_changed.
func (x *sh) DelDest(s *ipvs.Service, _, _ *ipvs.Dest) { x.reassign(s) }

// UpdDest is ip_vs_sh.c: ip_vs_sh_dest_changed.
func (x *sh) UpdDest(s *ipvs.Service, _ *ipvs.Dest) { x.reassign(s) }

// shUnavailable is ip_vs_sh.c: is_unavailable.
func shUnavailable(d *ipvs.Dest) bool {
	return d.Weight() <= 0 || d.Overloaded()
}

// shHashKey is ip_vs_sh.c: ip_vs_sh_hashkey.
func shHashKey(addr uint32, port uint16, offset uint32) uint32 {
	return (offset + hash32(uint32(port)+addr, shTabBits)) & shTabMask
}

// Schedule is ip_vs_sh.c: ip_vs_sh_schedule with ip_vs_sh_get or, under
// sh-fallback, ip_vs_sh_get_fallback. The key is the client address (and
// its source port under sh-port).
func (x *sh) Schedule(s *ipvs.Service, p *ipvs.Packet, _ ipvs.Time) *ipvs.Dest {
	if !x.inited {
		x.reassign(s)
	}
	addr := ipvs.AddrHash(p.Src)
	var port uint16
	if s.Flags()&ipvs.SvcSched2 != 0 {
		port = hashPort(p)
	}
	ihash := shHashKey(addr, port, 0)
	d := x.tab[ihash]
	if s.Flags()&ipvs.SvcSched1 == 0 {
		if d == nil || shUnavailable(d) {
			return nil
		}
		return d
	}
	// ip_vs_sh_get_fallback: the bucket first, then around the table from
	// a start derived from it (offset + ihash, hashed again: bucket
	// 2*ihash + k); an empty bucket ends the search.
	if d == nil {
		return nil
	}
	if !shUnavailable(d) {
		return d
	}
	for offset := uint32(0); offset < shTabSize; offset++ {
		roffset := (offset + ihash) % shTabSize
		d = x.tab[shHashKey(addr, port, roffset)]
		if d == nil {
			break
		}
		if !shUnavailable(d) {
			return d
		}
	}
	return nil
}

// Preview is Schedule, which changes nothing but builds the table on first
// use (what init_service would have built).
func (x *sh) Preview(s *ipvs.Service, p *ipvs.Packet, now ipvs.Time) *ipvs.Dest {
	return x.Schedule(s, p, now)
}
