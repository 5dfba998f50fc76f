package ipvsadm

import (
	"bufio"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/golvs/golvs/ipvs"
)

// fakeTarget is an in-memory Target with the kernel's configuration
// checks (ip_vs_ctl.c) that ipvsadm's messages depend on.
type fakeTarget struct {
	svcs     []*ipvs.ServiceInfo // creation order (the "kernel order")
	timeouts ipvs.Timeouts
	conns    []ipvs.ConnInfo
	daemons  []DaemonConfig
	// startErr, if set, is returned by StartDaemon.
	startErr error
	calls    []string
}

func newFake() *fakeTarget {
	return &fakeTarget{timeouts: ipvs.Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}}
}

var knownSchedulers = map[string]bool{"rr": true, "wrr": true, "lc": true, "wlc": true, "lblc": true, "lblcr": true,
	"dh": true, "sh": true, "sed": true, "nq": true, "fo": true, "ovf": true, "mh": true, "none": true}

func sameKey(a, b ipvs.ServiceKey) bool {
	if a.Family != b.Family || a.FWMark != b.FWMark {
		return false
	}
	if a.FWMark != 0 {
		return true
	}
	return a.Protocol == b.Protocol && a.Port == b.Port && a.Addr == b.Addr
}

func (f *fakeTarget) find(k ipvs.ServiceKey) (int, *ipvs.ServiceInfo) {
	for i, s := range f.svcs {
		if sameKey(s.ServiceKey, k) {
			return i, s
		}
	}
	return -1, nil
}

func checkSvc(cfg ipvs.ServiceConfig) error {
	if !knownSchedulers[cfg.Scheduler] {
		return fmt.Errorf("sched %q: %w", cfg.Scheduler, ipvs.ErrSchedulerNotFound)
	}
	if cfg.PE != "" && cfg.PE != "sip" {
		return ipvs.ErrSchedulerNotFound
	}
	if cfg.Family == ipvs.AFInet6 && (cfg.Netmask < 1 || cfg.Netmask > 128) {
		return ipvs.ErrInvalid
	}
	return nil
}

func (f *fakeTarget) AddService(cfg ipvs.ServiceConfig) error {
	f.calls = append(f.calls, fmt.Sprintf("AddService %+v", cfg))
	if _, s := f.find(cfg.ServiceKey); s != nil {
		return ipvs.ErrServiceExists
	}
	if err := checkSvc(cfg); err != nil {
		return err
	}
	f.svcs = append(f.svcs, &ipvs.ServiceInfo{ServiceConfig: cfg})
	return nil
}

func (f *fakeTarget) EditService(cfg ipvs.ServiceConfig) error {
	f.calls = append(f.calls, fmt.Sprintf("EditService %+v", cfg))
	_, s := f.find(cfg.ServiceKey)
	if s == nil {
		return ipvs.ErrNoService
	}
	if err := checkSvc(cfg); err != nil {
		return err
	}
	s.ServiceConfig = cfg
	return nil
}

func (f *fakeTarget) DelService(k ipvs.ServiceKey) error {
	f.calls = append(f.calls, fmt.Sprintf("DelService %+v", k))
	i, s := f.find(k)
	if s == nil {
		return ipvs.ErrNoService
	}
	f.svcs = append(f.svcs[:i], f.svcs[i+1:]...)
	return nil
}

func (f *fakeTarget) Flush() error {
	f.calls = append(f.calls, "Flush")
	f.svcs = nil
	return nil
}

func checkDest(d ipvs.DestConfig) error {
	// ip_vs_ctl.c: ip_vs_add_dest/ip_vs_edit_dest: unicast or local only
	a := d.Addr
	if a.Is4() {
		b := a.As4()
		if b[0] == 0 || b[0]&0xf0 == 0xe0 || a == netip.MustParseAddr("255.255.255.255") {
			return ipvs.ErrInvalid
		}
	} else if a.IsMulticast() || a.IsUnspecified() || a.IsLinkLocalUnicast() {
		return ipvs.ErrInvalid
	}
	if d.Weight < 0 {
		return ipvs.ErrRange
	}
	if d.LThreshold > d.UThreshold {
		return ipvs.ErrRange
	}
	if d.Method == ipvs.FwdTunnel && d.TunType == ipvs.TunGUE && d.TunPort == 0 {
		return ipvs.ErrInvalid
	}
	return nil
}

func (f *fakeTarget) findDest(s *ipvs.ServiceInfo, a netip.Addr, port uint16) int {
	for i, d := range s.Dests {
		if d.Addr == a && d.Port == port {
			return i
		}
	}
	return -1
}

func (f *fakeTarget) AddDest(k ipvs.ServiceKey, d ipvs.DestConfig) error {
	f.calls = append(f.calls, fmt.Sprintf("AddDest %+v %+v", k, d))
	_, s := f.find(k)
	if s == nil {
		return ipvs.ErrServiceNotDefined
	}
	if err := checkDest(d); err != nil {
		return err
	}
	if f.findDest(s, d.Addr, d.Port) >= 0 {
		return ipvs.ErrDestExists
	}
	di := ipvs.DestInfo{DestConfig: d, Family: ipvs.FamilyOf(d.Addr)}
	s.Dests = append([]ipvs.DestInfo{di}, s.Dests...)
	return nil
}

func (f *fakeTarget) EditDest(k ipvs.ServiceKey, d ipvs.DestConfig) error {
	f.calls = append(f.calls, fmt.Sprintf("EditDest %+v %+v", k, d))
	_, s := f.find(k)
	if s == nil {
		return ipvs.ErrServiceNotDefined
	}
	if err := checkDest(d); err != nil {
		return err
	}
	i := f.findDest(s, d.Addr, d.Port)
	if i < 0 {
		return ipvs.ErrNoDest
	}
	s.Dests[i].DestConfig = d
	return nil
}

func (f *fakeTarget) DelDest(k ipvs.ServiceKey, a netip.Addr, port uint16) error {
	f.calls = append(f.calls, fmt.Sprintf("DelDest %+v %v %d", k, a, port))
	_, s := f.find(k)
	if s == nil {
		return ipvs.ErrServiceNotDefined
	}
	i := f.findDest(s, a, port)
	if i < 0 {
		return ipvs.ErrNoDest
	}
	s.Dests = append(s.Dests[:i], s.Dests[i+1:]...)
	return nil
}

func (f *fakeTarget) Zero(k *ipvs.ServiceKey) error {
	if k == nil {
		f.calls = append(f.calls, "Zero all")
		for _, s := range f.svcs {
			s.Stats = ipvs.StatsInfo{}
		}
		return nil
	}
	f.calls = append(f.calls, fmt.Sprintf("Zero %+v", *k))
	_, s := f.find(*k)
	if s == nil {
		return ipvs.ErrNoService
	}
	s.Stats = ipvs.StatsInfo{}
	return nil
}

func (f *fakeTarget) SetTimeouts(t ipvs.Timeouts) error {
	f.calls = append(f.calls, fmt.Sprintf("SetTimeouts %v", t))
	if t.TCP != 0 {
		f.timeouts.TCP = t.TCP
	}
	if t.TCPFin != 0 {
		f.timeouts.TCPFin = t.TCPFin
	}
	if t.UDP != 0 {
		f.timeouts.UDP = t.UDP
	}
	return nil
}

func (f *fakeTarget) Timeouts() ipvs.Timeouts { return f.timeouts }

func (f *fakeTarget) Services() []ipvs.ServiceInfo {
	out := make([]ipvs.ServiceInfo, len(f.svcs))
	for i, s := range f.svcs {
		out[i] = *s
		out[i].Dests = append([]ipvs.DestInfo(nil), s.Dests...)
	}
	return out
}

func (f *fakeTarget) Conns(now ipvs.Time) []ipvs.ConnInfo { return f.conns }

func (f *fakeTarget) StartDaemon(d DaemonConfig) error {
	f.calls = append(f.calls, fmt.Sprintf("StartDaemon %+v", d))
	if f.startErr != nil {
		return f.startErr
	}
	for _, x := range f.daemons {
		if x.State == d.State {
			return ErrDaemonRunning
		}
	}
	f.daemons = append(f.daemons, d)
	return nil
}

func (f *fakeTarget) StopDaemon(d DaemonConfig) error {
	f.calls = append(f.calls, fmt.Sprintf("StopDaemon %+v", d))
	for i, x := range f.daemons {
		if x.State == d.State {
			f.daemons = append(f.daemons[:i], f.daemons[i+1:]...)
			return nil
		}
	}
	return ErrNoDaemon
}

func (f *fakeTarget) Daemons() []DaemonConfig { return f.daemons }

// state renders the configuration, to check that refused commands change
// nothing.
func (f *fakeTarget) state() string {
	svcs := append([]*ipvs.ServiceInfo(nil), f.svcs...)
	sort.SliceStable(svcs, func(i, j int) bool { return fmt.Sprint(svcs[i].ServiceKey) < fmt.Sprint(svcs[j].ServiceKey) })
	var b strings.Builder
	for _, s := range svcs {
		fmt.Fprintf(&b, "%+v\n", s.ServiceConfig)
		var ds []string
		for _, d := range s.Dests {
			ds = append(ds, fmt.Sprintf("  %+v\n", d.DestConfig))
		}
		sort.Strings(ds)
		b.WriteString(strings.Join(ds, ""))
	}
	fmt.Fprintf(&b, "%v\n", f.timeouts)
	ds := append([]DaemonConfig(nil), f.daemons...)
	sort.Slice(ds, func(i, j int) bool { return ds[i].State < ds[j].State })
	fmt.Fprintf(&b, "%+v\n", ds)
	return b.String()
}

// plainTarget is a Target without the optional interfaces.
type plainTarget struct{ Target }

func bufio_NewReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
