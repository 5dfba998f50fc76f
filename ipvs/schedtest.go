package ipvs

import "net/netip"

// DestState describes a real server for [NewSchedTestService]: its
// configuration and the counters a scheduler reads.
type DestState struct {
	Addr        netip.Addr
	Port        uint16
	Weight      int32
	LastWeight  int32 // 0: same as Weight
	ActiveConns int32
	TotalConns  int32
	Overloaded  bool
	Unavailable bool
}

// NewSchedTestService builds a detached service holding dests in the given
// (kernel list) order, for exercising a scheduler without a [Director]. The
// scheduler's hooks are not called; the service uses DefaultSettings.
func NewSchedTestService(cfg ServiceConfig, dests []DestState) *Service {
	d := &Director{settings: DefaultSettings()}
	s := &Service{dir: d, key: cfg.ServiceKey, flags: cfg.Flags}
	for i, ds := range dests {
		x := &Dest{af: FamilyOf(ds.Addr), addr: pack(ds.Addr), port: ds.Port, svc: s, svcKey: cfg.ServiceKey, index: i}
		x.weight.Store(ds.Weight)
		lw := ds.LastWeight
		if lw == 0 {
			lw = ds.Weight
		}
		x.lastWeight.Store(lw)
		x.activeConns.Store(ds.ActiveConns)
		x.totalConns.Store(ds.TotalConns)
		x.overload.Store(ds.Overloaded)
		x.available.Store(!ds.Unavailable)
		s.dests = append(s.dests, x)
	}
	return s
}

// SetTestCounters sets a dest's counters and flags; for scheduler tests only.
func (d *Dest) SetTestCounters(active, total int32, overloaded bool) {
	d.activeConns.Store(active)
	d.totalConns.Store(total)
	d.overload.Store(overloaded)
}

// SetTestWeight sets a dest's weight (and last weight when w != 0) without
// notifying the scheduler; for scheduler tests only.
func (d *Dest) SetTestWeight(w int32) {
	d.weight.Store(w)
	if w != 0 {
		d.lastWeight.Store(w)
	}
}
