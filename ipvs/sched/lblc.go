package sched

import "github.com/golvs/golvs/ipvs"

// lblc is the locality-based least-connection scheduler (ip_vs_lblc.c): a
// cache from the packet's destination address to a dest (struct
// ip_vs_lblc_table), collected every 60 s of the caller's time.
type lblc struct {
	inited bool
	cache  locCache[*ipvs.Dest]
}

func (x *lblc) Name() string { return "lblc" }

// InitService is ip_vs_lblc.c: ip_vs_lblc_init_svc (after the
// done_service flush of a previous binding): an empty cache.
func (x *lblc) InitService(*ipvs.Service) {
	x.inited = true
	x.cache.clear = func(v **ipvs.Dest) { *v = nil }
	x.cache.reset()
}

// Schedule is ip_vs_lblc.c: ip_vs_lblc_schedule. A cached dest is used if
// it is AVAILABLE, has weight > 0 and is not overloaded in the lblc sense
// (locOverloaded; the OVERLOAD flag is not looked at). Otherwise the dest is
// chosen as wlc does and cached (ip_vs_lblc_new), unless the cache is full.
func (x *lblc) Schedule(s *ipvs.Service, p *ipvs.Packet, now ipvs.Time) *ipvs.Dest {
	if !x.inited {
		x.InitService(s)
	}
	c := &x.cache
	c.advance(now, s.Settings().LBLCExpiration)
	ds := s.Dests()
	h, key := locKey(p.Dst)
	en := c.get(h, key)
	if en != nil {
		c.touch(en, now)
		if d := en.val; d.Available() && d.Weight() > 0 && !locOverloaded(d, ds) {
			return d
		}
	}
	d := leastLoaded(ds, false)
	if d == nil {
		return nil
	}
	// ip_vs_lblc_new: keep an entry that already names d, replace another.
	if en != nil {
		if en.val == d {
			return d
		}
		c.remove(h, en)
	}
	if c.entries >= locHardLimit {
		return d // no cache entry; the dest is used anyway
	}
	c.insert(h, key, now).val = d
	return d
}
