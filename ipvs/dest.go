package ipvs

import (
	"net/netip"
	"sync/atomic"
)

// FwdMethod is a real server's forwarding method (IP_VS_CONN_F_FWD_MASK).
type FwdMethod uint32

// Forwarding methods, with the kernel's values.
const (
	FwdMasq      FwdMethod = 0 // IP_VS_CONN_F_MASQ: NAT (-m)
	FwdLocalNode FwdMethod = 1 // IP_VS_CONN_F_LOCALNODE
	FwdTunnel    FwdMethod = 2 // IP_VS_CONN_F_TUNNEL (-i)
	FwdRoute     FwdMethod = 3 // IP_VS_CONN_F_DROUTE: direct routing (-g, ipvsadm's default)
	FwdBypass    FwdMethod = 4 // IP_VS_CONN_F_BYPASS
)

// String returns the name ipvsadm lists: Masq, Local, Tunnel, Route, Bypass.
func (m FwdMethod) String() string {
	switch m {
	case FwdMasq:
		return "Masq"
	case FwdLocalNode:
		return "Local"
	case FwdTunnel:
		return "Tunnel"
	case FwdRoute:
		return "Route"
	case FwdBypass:
		return "Bypass"
	}
	return "Unknown"
}

// Tunnel types and flags (IP_VS_CONN_F_TUNNEL_TYPE_*, IP_VS_TUNNEL_ENCAP_FLAG_*).
const (
	TunIPIP uint8 = 0
	TunGUE  uint8 = 1
	TunGRE  uint8 = 2

	TunFlagNoCsum  uint16 = 0
	TunFlagCsum    uint16 = 1
	TunFlagRemCsum uint16 = 2
)

// DestConfig is a real server's configuration, as ipvsadm -a/-e sends it.
type DestConfig struct {
	Addr       netip.Addr
	Port       uint16
	Method     FwdMethod
	Weight     int32
	UThreshold uint32
	LThreshold uint32
	TunType    uint8
	TunPort    uint16
	TunFlags   uint16
}

// Dest is a real server of a service. Counters are atomics: they change on
// the packet path while schedulers read them.
type Dest struct {
	af   Family
	addr addr16
	port uint16
	// identity of the service it belongs to (kept while in the trash)
	svcKey ServiceKey
	svc    *Service

	method     FwdMethod
	tunType    uint8
	tunPort    uint16
	tunFlags   uint16
	uThreshold uint32
	lThreshold uint32

	weight     atomic.Int32
	lastWeight atomic.Int32
	overload   atomic.Bool
	available  atomic.Bool

	// The counters change with every connection, on every core: apart
	// from what packets only read (available, method, weight).
	_            [cacheLine]byte
	activeConns  atomic.Int32
	totalConns   atomic.Int32
	persistConns atomic.Int32
	_            [cacheLine - 12]byte

	index int // position in the service's list (newest first)
	// unbound counts what Advance's expiries took from the counters
	// above, applied when it is done (Director.unbindDestLater).
	unbound unboundCounts
	// trashed is the time the dest entered the trash.
	trashedAt Time

	stats Stats
}

// Addr returns the real server's address.
func (d *Dest) Addr() netip.Addr { return d.addr.unpack(d.af) }

// Port returns the real server's port (0: use the packet's port).
func (d *Dest) Port() uint16 { return d.port }

// Family returns the real server's address family.
func (d *Dest) Family() Family { return d.af }

// AddrHash returns the address folded as the kernel's hashing schedulers hash it.
func (d *Dest) AddrHash() uint32 { return d.addr.fold(d.af) }

// Method returns the forwarding method.
func (d *Dest) Method() FwdMethod { return d.method }

// Weight returns the current weight.
func (d *Dest) Weight() int32 { return d.weight.Load() }

// LastWeight returns the last non-zero weight (used by mh).
func (d *Dest) LastWeight() int32 { return d.lastWeight.Load() }

// Overloaded reports whether the OVERLOAD flag is set (upper threshold reached).
func (d *Dest) Overloaded() bool { return d.overload.Load() }

// Available reports whether the dest is linked in its service
// (IP_VS_DEST_F_AVAILABLE); false once deleted.
func (d *Dest) Available() bool { return d.available.Load() }

// ActiveConns returns activeconns.
func (d *Dest) ActiveConns() int32 { return d.activeConns.Load() }

// TotalConns returns totalconns (active and inactive, templates excluded).
func (d *Dest) TotalConns() int32 { return d.totalConns.Load() }

// InactConns returns max(totalconns-activeconns, 0), the kernel's
// ip_vs_dest_inactconns.
func (d *Dest) InactConns() int32 {
	v := d.totalConns.Load() - d.activeConns.Load()
	if v < 0 {
		return 0
	}
	return v
}

// PersistConns returns the number of templates bound to the dest.
func (d *Dest) PersistConns() int32 { return d.persistConns.Load() }

// Overhead returns activeconns*256 + totalconns, the load figure of lc, wlc,
// lblc, lblcr and twos (ip_vs.h: ip_vs_dest_conn_overhead).
func (d *Dest) Overhead() int64 {
	return int64(d.activeConns.Load())<<8 + int64(d.totalConns.Load())
}

// Index returns the dest's position in its service's list (0 = newest).
func (d *Dest) Index() int { return d.index }

// lThresholdVal is the effective lower threshold (ip_vs_ctl.c:
// __ip_vs_update_dest: l_threshold, or 3/4 of u rounded up).
func (d *Dest) lThresholdVal() uint32 {
	if d.lThreshold != 0 {
		return d.lThreshold
	}
	return d.uThreshold - d.uThreshold>>2
}

// applyUnbound applies the counts kept back by Advance, as unbindDest
// would have one by one: the lower threshold is crossed once at most, as
// the total only falls meanwhile.
func (d *Dest) applyUnbound() {
	u := &d.unbound
	if u.active != 0 {
		d.activeConns.Add(-u.active)
	}
	if u.persist != 0 {
		d.persistConns.Add(-u.persist)
	}
	if u.total != 0 {
		// ip_vs_unbind_dest: updated when a decrement starts at the
		// lower threshold.
		hi := d.totalConns.Add(-u.total) + u.total
		lo := hi - u.total + 1
		if l := int64(d.lThresholdVal()); int64(lo) <= l && l <= int64(hi) {
			d.updateOverload(-1)
		}
	}
	*u = unboundCounts{}
}

// unboundCounts are a dest's counters' losses kept back by Advance.
type unboundCounts struct {
	active, total, persist int32
	listed                 bool // in Advance's list of dests
}

// updateOverload mirrors ip_vs_ctl.c: __ip_vs_dest_update_overload(dest, mode).
func (d *Dest) updateOverload(mode int) {
	u := d.uThreshold
	if u == 0 {
		d.overload.Store(false)
		return
	}
	l := d.lThresholdVal()
	c := uint32(d.totalConns.Load())
	switch mode {
	case 1:
		d.overload.Store(c >= l)
	case -1:
		d.overload.Store(c >= u)
	default:
		if c >= u {
			d.overload.Store(true)
		} else if c < l {
			d.overload.Store(false)
		}
	}
}
