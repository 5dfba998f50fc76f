package sched

import (
	"net/netip"
	"testing"

	"github.com/golvs/golvs/ipvs"
)

// The tests change the dest list through a real ipvs.Director, which links
// new dests at the head and calls the scheduler's hooks after each change as
// ip_vs_ctl.c does (__ip_vs_update_dest, __ip_vs_del_dest). The scheduler
// is wrapped so that the test learns the *ipvs.Service it was bound to and
// can call Schedule directly with chosen counters and times.

// capture forwards to the real scheduler and records the bound service.
type capture struct {
	ipvs.Scheduler
	s *ipvs.Service
}

func (c *capture) InitService(s *ipvs.Service) {
	c.s = s
	if in, ok := c.Scheduler.(interface{ InitService(*ipvs.Service) }); ok {
		in.InitService(s)
	}
}

func (c *capture) AddDest(s *ipvs.Service, d *ipvs.Dest) {
	if o, ok := c.Scheduler.(ipvs.DestObserver); ok {
		o.AddDest(s, d)
	}
}

func (c *capture) DelDest(s *ipvs.Service, d, prev *ipvs.Dest) {
	if o, ok := c.Scheduler.(ipvs.DestObserver); ok {
		o.DelDest(s, d, prev)
	}
}

func (c *capture) UpdDest(s *ipvs.Service, d *ipvs.Dest) {
	if o, ok := c.Scheduler.(ipvs.DestObserver); ok {
		o.UpdDest(s, d)
	}
}

var vip = netip.MustParseAddr("10.0.0.1")

// harness is one virtual service with its scheduler.
type harness struct {
	t     testing.TB
	dir   *ipvs.Director
	key   ipvs.ServiceKey
	s     *ipvs.Service
	sch   ipvs.Scheduler // the real scheduler
	now   ipvs.Time
	sport uint16
	// uthr holds upper thresholds (-x) for the OVERLOAD emulation of bind.
	uthr map[*ipvs.Dest]uint32
}

func newHarness(t testing.TB, name string, flags ipvs.ServiceFlags, opts ...Option) *harness {
	t.Helper()
	var c *capture
	dir := ipvs.NewDirector(&ipvs.Config{Schedulers: func(n string) (ipvs.Scheduler, error) {
		sch, err := NewWith(n, opts...)
		if err != nil {
			return nil, err
		}
		c = &capture{Scheduler: sch}
		return c, nil
	}})
	key := ipvs.ServiceKey{Family: ipvs.AFInet, Protocol: ipvs.ProtoTCP, Addr: vip, Port: 80}
	if err := dir.AddService(ipvs.ServiceConfig{ServiceKey: key, Scheduler: name, Flags: flags}); err != nil {
		t.Fatal(err)
	}
	if c == nil || c.s == nil {
		t.Fatal("the director did not bind the scheduler with InitService")
	}
	return &harness{t: t, dir: dir, key: key, s: c.s, sch: c.Scheduler, sport: 40000, uthr: map[*ipvs.Dest]uint32{}}
}

func addr(a string) netip.Addr { return netip.MustParseAddr(a) }

func (h *harness) find(a netip.Addr, port uint16) *ipvs.Dest {
	for _, d := range h.s.Dests() {
		if d.Addr() == a && d.Port() == port {
			return d
		}
	}
	return nil
}

// addCfg is "ipvsadm -a" with a full config.
func (h *harness) addCfg(dc ipvs.DestConfig) *ipvs.Dest {
	h.t.Helper()
	if dc.Method == 0 {
		dc.Method = ipvs.FwdMasq
	}
	if err := h.dir.AddDest(h.key, dc); err != nil {
		h.t.Fatal(err)
	}
	d := h.find(dc.Addr, dc.Port)
	if dc.UThreshold != 0 {
		h.uthr[d] = dc.UThreshold
	}
	return d
}

// add is "ipvsadm -a -r a:port -m -w w".
func (h *harness) add(a string, port uint16, w int32) *ipvs.Dest {
	h.t.Helper()
	return h.addCfg(ipvs.DestConfig{Addr: addr(a), Port: port, Weight: w})
}

// addAll adds dests ".N" (10.8.0.N:80) with the given weights, in order.
func (h *harness) addAll(ws map[string]int32, order ...string) map[string]*ipvs.Dest {
	m := map[string]*ipvs.Dest{}
	for _, n := range order {
		w, ok := ws[n]
		if !ok {
			w = 1
		}
		m[n] = h.add("10.8.0"+n, 80, w)
	}
	return m
}

// del is "ipvsadm -d".
func (h *harness) del(d *ipvs.Dest) {
	h.t.Helper()
	if err := h.dir.DelDest(h.key, d.Addr(), d.Port()); err != nil {
		h.t.Fatal(err)
	}
}

// edit is "ipvsadm -e -w w".
func (h *harness) edit(d *ipvs.Dest, w int32) {
	h.t.Helper()
	if err := h.dir.EditDest(h.key, ipvs.DestConfig{Addr: d.Addr(), Port: d.Port(), Method: d.Method(), Weight: w, UThreshold: h.uthr[d]}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) pkt(src string, sport uint16, dst netip.Addr) *ipvs.Packet {
	return &ipvs.Packet{Family: ipvs.AFInet, Protocol: ipvs.ProtoTCP, Src: addr(src), Dst: dst,
		SrcPort: sport, DstPort: 80, TCPFlags: ipvs.TCPSyn, Len: 60}
}

// bind counts a new connection that stays in SYN_RECV on d (activeconns
// and totalconns + 1), raising OVERLOAD when totalconns reaches the upper
// threshold (ip_vs_conn.c: ip_vs_bind_dest, __ip_vs_dest_update_overload
// mode +1 with l = u - u/4).
func (h *harness) bind(d *ipvs.Dest) {
	if d == nil {
		return
	}
	a, tot := d.ActiveConns()+1, d.TotalConns()+1
	ov := d.Overloaded()
	if u := int32(h.uthr[d]); u != 0 && tot == u {
		ov = tot >= u-u>>2
	}
	d.SetTestCounters(a, tot, ov)
}

// synTo schedules one SYN from src (a fresh source port) to dst and binds
// the chosen dest.
func (h *harness) synTo(src string, dst netip.Addr) *ipvs.Dest {
	h.sport++
	d := h.sch.Schedule(h.s, h.pkt(src, h.sport, dst), h.now)
	h.bind(d)
	return d
}

func (h *harness) syn(src string) *ipvs.Dest { return h.synTo(src, vip) }

// pick schedules src:sport without binding.
func (h *harness) pick(src string, sport uint16) *ipvs.Dest {
	return h.sch.Schedule(h.s, h.pkt(src, sport, vip), h.now)
}

// name returns ".N" for 10.8.0.N, "-" for nil.
func name(d *ipvs.Dest) string {
	if d == nil {
		return "-"
	}
	b := d.Addr().As4()
	return "." + itoa(int(b[3]))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [12]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// expectSeq compares picks with a want list of ".N" names.
func expectSeq(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s:\n got %v\nwant %v", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s:\n got %v\nwant %v", what, got, want)
		}
	}
}

// syns sends n SYNs from the clients 10.9.0.1.. and returns the names.
func (h *harness) syns(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, name(h.syn("10.9.0."+itoa(i))))
	}
	return out
}

// picks schedules (without binding) one packet per client, port 0 unless
// ports are given.
func (h *harness) picks(clients []string, ports ...uint16) []string {
	var out []string
	for i, c := range clients {
		var p uint16
		if i < len(ports) {
			p = ports[i]
		}
		out = append(out, name(h.pick(c, p)))
	}
	return out
}

func clients(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, "10.9.0."+itoa(i))
	}
	return out
}
