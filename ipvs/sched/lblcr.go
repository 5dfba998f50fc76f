package sched

import "github.com/golvs/golvs/ipvs"

// destSet is ip_vs_lblcr.c: struct ip_vs_dest_set: members newest first.
type destSet struct {
	dests   []*ipvs.Dest
	lastmod ipvs.Time
}

// insert is ip_vs_dest_set_insert: d goes to the front (when check, only if
// absent) and lastmod is set.
func (set *destSet) insert(d *ipvs.Dest, check bool, now ipvs.Time) {
	if check {
		for _, e := range set.dests {
			if e == d {
				return
			}
		}
	}
	set.dests = append(set.dests, nil)
	copy(set.dests[1:], set.dests)
	set.dests[0] = d
	set.lastmod = now
}

// erase is ip_vs_dest_set_erase.
func (set *destSet) erase(d *ipvs.Dest, now ipvs.Time) {
	for i, e := range set.dests {
		if e == d {
			copy(set.dests[i:], set.dests[i+1:])
			set.dests[len(set.dests)-1] = nil
			set.dests = set.dests[:len(set.dests)-1]
			set.lastmod = now
			return
		}
	}
}

// min is ip_vs_dest_set_min: wlc over the members. The initial candidate is
// the first member that is not OVERLOADED, has weight > 0 and is AVAILABLE;
// a later member that is not OVERLOADED replaces it when strictly less
// loaded and AVAILABLE.
func (set *destSet) min() *ipvs.Dest {
	i := 0
	var least *ipvs.Dest
	for ; i < len(set.dests); i++ {
		if d := set.dests[i]; !d.Overloaded() && d.Weight() > 0 && d.Available() {
			least = d
			break
		}
	}
	if least == nil {
		return nil
	}
	loh := int64(overhead(least))
	for i++; i < len(set.dests); i++ {
		d := set.dests[i]
		if d.Overloaded() {
			continue
		}
		doh := int64(overhead(d))
		if loh*int64(d.Weight()) > doh*int64(least.Weight()) && d.Available() {
			least, loh = d, doh
		}
	}
	return least
}

// max is ip_vs_dest_set_max: the most loaded member by overhead/weight among
// those with weight > 0 (OVERLOAD and availability are not looked at).
func (set *destSet) max() *ipvs.Dest {
	i := 0
	var most *ipvs.Dest
	for ; i < len(set.dests); i++ {
		if d := set.dests[i]; d.Weight() > 0 {
			most = d
			break
		}
	}
	if most == nil {
		return nil
	}
	moh := int64(overhead(most))
	for i++; i < len(set.dests); i++ {
		d := set.dests[i]
		doh := int64(overhead(d))
		if moh*int64(d.Weight()) < doh*int64(most.Weight()) && d.Weight() > 0 {
			most, moh = d, doh
		}
	}
	return most
}

// lblcr is the locality-based least-connection scheduler with replication
// (ip_vs_lblcr.c): a cache from the packet's destination address to a set
// of dests (struct ip_vs_lblcr_table), collected every 60 s of the caller's
// time.
type lblcr struct {
	inited bool
	cache  locCache[destSet]
}

func (x *lblcr) Name() string { return "lblcr" }

// InitService is ip_vs_lblcr.c: ip_vs_lblcr_init_svc (after the
// done_service flush of a previous binding): an empty cache.
func (x *lblcr) InitService(*ipvs.Service) {
	x.inited = true
	x.cache.clear = func(v *destSet) {
		clear(v.dests)
		v.dests = v.dests[:0]
	}
	x.cache.reset()
}

// Schedule is ip_vs_lblcr.c: ip_vs_lblcr_schedule. For a cached address the
// least loaded member is chosen (destSet.min); a set of several members
// not modified for lblcr_expiration loses its most loaded member; the
// chosen member is used unless lblc-overloaded (locOverloaded), in which case
// a dest chosen as wlc does is added to the set and used. An address not
// cached gets a new entry with the wlc choice, unless the cache is full.
func (x *lblcr) Schedule(s *ipvs.Service, p *ipvs.Packet, now ipvs.Time) *ipvs.Dest {
	if !x.inited {
		x.InitService(s)
	}
	c := &x.cache
	exp := s.Settings().LBLCRExpiration
	c.advance(now, exp)
	ds := s.Dests()
	h, key := locKey(p.Dst)
	if en := c.get(h, key); en != nil {
		c.touch(en, now)
		set := &en.val
		d := set.min()
		// More than one member and enough time passed: drop the most
		// loaded one (time_after(now, lastmod + expiration)).
		if len(set.dests) > 1 && now > set.lastmod.Add(exp) {
			if m := set.max(); m != nil {
				set.erase(m, now)
			}
		}
		if d != nil && !locOverloaded(d, ds) {
			return d
		}
		d = leastLoaded(ds, false)
		if d == nil {
			return nil
		}
		set.insert(d, true, now)
		return d
	}
	d := leastLoaded(ds, false)
	if d == nil {
		return nil
	}
	// ip_vs_lblcr_new for an address not cached.
	if c.entries >= locHardLimit {
		return d
	}
	c.insert(h, key, now).val.insert(d, false, now)
	return d
}
