package config

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/golvs/golvs/ipvs"
)

// State is a desired state in the director's own terms: services and the
// real servers of each, both in configuration order.
type State struct {
	Services []ipvs.ServiceConfig
	Dests    map[ipvs.ServiceKey][]ipvs.DestConfig
}

// Desired validates c (without checking scheduler names: see [Validate])
// and returns its services as the director takes them: keys normalized as
// the kernel stores them, defaults filled (netmask 255.255.255.255 or
// 128, real server ports), flags built from persistent, ops and
// sched_flags. The weights are the configured ones; a health checker that
// keeps failed servers at weight 0 must lower them in the State before
// [Diff], or a reload would revive them.
func (c *Config) Desired() (State, error) {
	if err := c.Validate(nil); err != nil {
		return State{}, err
	}
	st := State{Dests: make(map[ipvs.ServiceKey][]ipvs.DestConfig, len(c.Services))}
	for i := range c.Services {
		s := &c.Services[i]
		sc := s.ServiceConfig()
		st.Services = append(st.Services, sc)
		ds := make([]ipvs.DestConfig, 0, len(s.Servers))
		for j := range s.Servers {
			ds = append(ds, s.DestConfig(&s.Servers[j]))
		}
		st.Dests[sc.ServiceKey] = ds
	}
	return st, nil
}

// ServiceConfig returns s as the director's service configuration. s must
// be valid.
func (s *Service) ServiceConfig() ipvs.ServiceConfig {
	sc := ipvs.ServiceConfig{
		ServiceKey: s.Key(),
		Scheduler:  s.Scheduler,
		Timeout:    s.Persistent,
		Netmask:    s.Netmask,
		NetmaskSet: true,
		PE:         s.PE,
	}
	if !s.NetmaskSet {
		sc.Netmask = 0xffffffff
		if sc.Family == ipvs.AFInet6 {
			sc.Netmask = 128
		}
	}
	if s.Persistent != 0 {
		sc.Flags |= ipvs.SvcPersistent
	}
	if s.OPS {
		sc.Flags |= ipvs.SvcOnePacket
	}
	for _, name := range s.SchedFlags {
		for _, f := range schedFlagNames {
			if f.name == name {
				sc.Flags |= f.flag
			}
		}
	}
	return sc
}

// DestConfig returns sv, a real server of s, as the director's dest
// configuration. sv must be valid.
func (s *Service) DestConfig(sv *Server) ipvs.DestConfig {
	dc := ipvs.DestConfig{
		Addr:       sv.Addr.Unmap(),
		Port:       s.DestPort(sv),
		Method:     sv.Method,
		Weight:     sv.Weight,
		UThreshold: sv.UThreshold,
		LThreshold: sv.LThreshold,
	}
	if t := sv.Tunnel; t != nil && sv.Method == ipvs.FwdTunnel {
		dc.TunType, dc.TunPort, dc.TunFlags = t.Type, t.Port, t.Flags
	}
	return dc
}

// IPVSSettings returns the director settings c asks for: the kernel's
// defaults with c's sysctls and max_conns. c must be valid.
func (c *Config) IPVSSettings() ipvs.Settings {
	st := ipvs.DefaultSettings()
	names := make([]string, 0, len(c.Sysctl))
	for n := range c.Sysctl {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		_ = st.Set(n, c.Sysctl[n]) // checked by Validate
	}
	st.MaxConns = c.MaxConns
	return st
}

// IPVSTimeouts returns the three timeouts c asks for, the kernel's defaults
// where c gives none.
func (c *Config) IPVSTimeouts() ipvs.Timeouts {
	// A new director holds the kernel's defaults (ipvs keeps them in one place).
	t := ipvs.NewDirector(nil).Timeouts()
	if c.Timeouts.TCP != 0 {
		t.TCP = c.Timeouts.TCP
	}
	if c.Timeouts.TCPFin != 0 {
		t.TCPFin = c.Timeouts.TCPFin
	}
	if c.Timeouts.UDP != 0 {
		t.UDP = c.Timeouts.UDP
	}
	return t
}

// Op is the kind of a [Change].
type Op uint8

// Operations, in the order [Diff] emits them for one service.
const (
	OpDelService  Op = iota + 1 // ipvsadm -D
	OpEditService               // ipvsadm -E
	OpAddService                // ipvsadm -A
	OpDelDest                   // ipvsadm -d
	OpEditDest                  // ipvsadm -e
	OpAddDest                   // ipvsadm -a
)

// Change is one configuration operation on a director.
type Change struct {
	Op Op
	// Service is the whole configuration for OpAddService and
	// OpEditService; the other operations use only its key.
	Service ipvs.ServiceConfig
	// Dest is the real server of the dest operations (OpDelDest uses only
	// Addr and Port).
	Dest ipvs.DestConfig
}

// String renders the change as the ipvsadm command that does it, such as
// "-a -t 192.0.2.1:80 -r 10.0.0.1:80 -m -w 1".
func (c Change) String() string {
	var b strings.Builder
	cmd := map[Op]string{OpDelService: "-D", OpEditService: "-E", OpAddService: "-A",
		OpDelDest: "-d", OpEditDest: "-e", OpAddDest: "-a"}[c.Op]
	if cmd == "" {
		return fmt.Sprintf("op %d", c.Op)
	}
	b.WriteString(cmd)
	k := c.Service.ServiceKey
	switch {
	case k.FWMark != 0:
		fmt.Fprintf(&b, " -f %d", k.FWMark)
		if k.Family == ipvs.AFInet6 {
			b.WriteString(" -6")
		}
	case k.Protocol == ipvs.ProtoUDP:
		fmt.Fprintf(&b, " -u %s", netip.AddrPortFrom(k.Addr, k.Port))
	case k.Protocol == ipvs.ProtoSCTP:
		fmt.Fprintf(&b, " --sctp-service %s", netip.AddrPortFrom(k.Addr, k.Port))
	default:
		fmt.Fprintf(&b, " -t %s", netip.AddrPortFrom(k.Addr, k.Port))
	}
	switch c.Op {
	case OpAddService, OpEditService:
		sc := c.Service
		fmt.Fprintf(&b, " -s %s", sc.Scheduler)
		if sc.Flags&ipvs.SvcPersistent != 0 {
			fmt.Fprintf(&b, " -p %d", sc.Timeout)
		}
		if k.Family == ipvs.AFInet6 {
			if sc.Netmask != 128 {
				fmt.Fprintf(&b, " -M %d", sc.Netmask)
			}
		} else if n := sc.Netmask; n != 0xffffffff {
			fmt.Fprintf(&b, " -M %d.%d.%d.%d", byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		}
		if sc.Flags&ipvs.SvcOnePacket != 0 {
			b.WriteString(" -o")
		}
		if f := schedFlagsString(sc); f != "" {
			b.WriteString(" -b " + f)
		}
		if sc.PE != "" {
			b.WriteString(" --pe " + sc.PE)
		}
	case OpDelDest, OpEditDest, OpAddDest:
		d := c.Dest
		fmt.Fprintf(&b, " -r %s", netip.AddrPortFrom(d.Addr, d.Port))
		if c.Op == OpDelDest {
			break
		}
		b.WriteString(map[ipvs.FwdMethod]string{ipvs.FwdMasq: " -m", ipvs.FwdRoute: " -g", ipvs.FwdTunnel: " -i"}[d.Method])
		fmt.Fprintf(&b, " -w %d", d.Weight)
		if d.UThreshold != 0 {
			fmt.Fprintf(&b, " -x %d", d.UThreshold)
		}
		if d.LThreshold != 0 {
			fmt.Fprintf(&b, " -y %d", d.LThreshold)
		}
		if d.Method == ipvs.FwdTunnel && (d.TunType != ipvs.TunIPIP || d.TunFlags != 0) {
			fmt.Fprintf(&b, " --tun-type %s", nameOf(tunTypeNames, int(d.TunType)))
			if d.TunPort != 0 {
				fmt.Fprintf(&b, " --tun-port %d", d.TunPort)
			}
			if d.TunFlags != 0 {
				fmt.Fprintf(&b, " --tun-%s", nameOf(tunCsumNames, int(d.TunFlags)))
			}
		}
	}
	return b.String()
}

// schedFlagsString names the scheduler flags as ipvsadm -b takes them for
// the service's scheduler.
func schedFlagsString(sc ipvs.ServiceConfig) string {
	var names []string
	for _, bit := range []ipvs.ServiceFlags{ipvs.SvcSched1, ipvs.SvcSched2, ipvs.SvcSched3} {
		if sc.Flags&bit == 0 {
			continue
		}
		name := ""
		for _, f := range schedFlagNames {
			if f.flag == bit && (f.sched == sc.Scheduler || f.sched == "" && name == "") {
				name = f.name
			}
		}
		names = append(names, name)
	}
	return strings.Join(names, ",")
}

// Diff returns the changes that take the director's current services to
// want, in an order that can be applied one by one: services that are no
// longer wanted are deleted first; then each wanted service, in want's
// order, is edited only if its scheduler, flags, timeout, netmask or
// persistence engine differ (never deleted and added again: it keeps its
// scheduler state and connections), its unwanted real servers are deleted,
// changed ones edited and new ones added in want's order (so, as with
// ipvsadm, the last one added heads the kernel's list); new services come
// with their real servers. An unchanged director gives no change.
func Diff(current []ipvs.ServiceInfo, want State) []Change {
	var out []Change
	cur := make(map[ipvs.ServiceKey]*ipvs.ServiceInfo, len(current))
	wanted := make(map[ipvs.ServiceKey]bool, len(want.Services))
	for _, sc := range want.Services {
		wanted[sc.ServiceKey] = true
	}
	for i := range current {
		si := &current[i]
		cur[si.ServiceKey] = si
		if !wanted[si.ServiceKey] {
			out = append(out, Change{Op: OpDelService, Service: ipvs.ServiceConfig{ServiceKey: si.ServiceKey}})
		}
	}
	for _, sc := range want.Services {
		key := ipvs.ServiceConfig{ServiceKey: sc.ServiceKey}
		si := cur[sc.ServiceKey]
		if si == nil {
			out = append(out, Change{Op: OpAddService, Service: sc})
			for _, dc := range want.Dests[sc.ServiceKey] {
				out = append(out, Change{Op: OpAddDest, Service: key, Dest: dc})
			}
			continue
		}
		if !sameService(si.ServiceConfig, sc) {
			out = append(out, Change{Op: OpEditService, Service: sc})
		}
		type destID struct {
			a    netip.Addr
			port uint16
		}
		wantDests := want.Dests[sc.ServiceKey]
		have := make(map[destID]ipvs.DestConfig, len(si.Dests))
		keep := make(map[destID]bool, len(wantDests))
		for _, dc := range wantDests {
			keep[destID{dc.Addr.Unmap(), dc.Port}] = true
		}
		for _, di := range si.Dests {
			id := destID{di.Addr.Unmap(), di.Port}
			have[id] = di.DestConfig
			if !keep[id] {
				out = append(out, Change{Op: OpDelDest, Service: key,
					Dest: ipvs.DestConfig{Addr: di.Addr, Port: di.Port}})
			}
		}
		for _, dc := range wantDests {
			if old, ok := have[destID{dc.Addr.Unmap(), dc.Port}]; ok && !sameDest(old, dc) {
				out = append(out, Change{Op: OpEditDest, Service: key, Dest: dc})
			}
		}
		for _, dc := range wantDests {
			if _, ok := have[destID{dc.Addr.Unmap(), dc.Port}]; !ok {
				out = append(out, Change{Op: OpAddDest, Service: key, Dest: dc})
			}
		}
	}
	return out
}

// sameService reports whether a service needs no edit. The timeout and
// netmask of a service that is not persistent have no effect (ip_vs_core.c
// reads them only in ip_vs_sched_persist), so they are not compared: a
// service made by hand with other values is left alone.
func sameService(a, b ipvs.ServiceConfig) bool {
	if a.Scheduler != b.Scheduler || a.Flags&^ipvs.SvcHashed != b.Flags&^ipvs.SvcHashed || a.PE != b.PE {
		return false
	}
	if a.Flags&ipvs.SvcPersistent == 0 {
		return true
	}
	return a.Timeout == b.Timeout && a.Netmask == b.Netmask
}

func sameDest(a, b ipvs.DestConfig) bool {
	if a.Method != b.Method || a.Weight != b.Weight || a.UThreshold != b.UThreshold || a.LThreshold != b.LThreshold {
		return false
	}
	if a.Method == ipvs.FwdTunnel {
		return a.TunType == b.TunType && a.TunPort == b.TunPort && a.TunFlags == b.TunFlags
	}
	return true
}

// Target is what [Apply] changes: the configuration methods of
// *ipvs.Director.
type Target interface {
	AddService(ipvs.ServiceConfig) error
	EditService(ipvs.ServiceConfig) error
	DelService(ipvs.ServiceKey) error
	AddDest(ipvs.ServiceKey, ipvs.DestConfig) error
	EditDest(ipvs.ServiceKey, ipvs.DestConfig) error
	DelDest(ipvs.ServiceKey, netip.Addr, uint16) error
}

var _ Target = (*ipvs.Director)(nil)

// Apply makes the changes on t in order and stops at the first error,
// which names the change and wraps t's error. Changes from [Diff] of a
// validated configuration against t's own current services do not fail;
// callers serialize Diff and Apply with every other change to t (the
// control package's owner).
func Apply(t Target, changes []Change) error {
	for _, c := range changes {
		k := c.Service.ServiceKey
		var err error
		switch c.Op {
		case OpDelService:
			err = t.DelService(k)
		case OpEditService:
			err = t.EditService(c.Service)
		case OpAddService:
			err = t.AddService(c.Service)
		case OpDelDest:
			err = t.DelDest(k, c.Dest.Addr, c.Dest.Port)
		case OpEditDest:
			err = t.EditDest(k, c.Dest)
		case OpAddDest:
			err = t.AddDest(k, c.Dest)
		default:
			err = fmt.Errorf("unknown operation %d", c.Op)
		}
		if err != nil {
			return fmt.Errorf("config: apply %s: %w", c, err)
		}
	}
	return nil
}
