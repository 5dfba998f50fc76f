package ipvs_test

// Shared helpers of the core conformance, property, fuzz, race and benchmark
// tests. They drive the Director only through its exported API.

import (
	"fmt"
	"net/netip"
	"runtime/metrics"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
)

// schedulers is the factory every test director uses.
var schedulers ipvs.SchedulerFactory = sched.New

// sec converts seconds to virtual time.
func sec(s float64) ipvs.Time { return ipvs.Time(s * float64(time.Second)) }

// rig is a director on a virtual clock.
type rig struct {
	t   testing.TB
	d   *ipvs.Director
	now ipvs.Time
}

// newRig returns a director with the kernel's default settings changed by
// mod, its clock at 0.
func newRig(t testing.TB, mod func(*ipvs.Settings)) *rig {
	t.Helper()
	s := ipvs.DefaultSettings()
	if mod != nil {
		mod(&s)
	}
	d := ipvs.NewDirector(&ipvs.Config{Settings: &s, Schedulers: schedulers})
	d.Advance(0)
	return &rig{t: t, d: d}
}

// at moves the clock to t (seconds) and fires due timers.
func (r *rig) at(t float64) {
	r.t.Helper()
	r.atTime(sec(t))
}

// atTime moves the clock to t and fires due timers.
func (r *rig) atTime(t ipvs.Time) {
	r.t.Helper()
	if t < r.now {
		r.t.Fatalf("clock going back: %v -> %v", r.now, t)
	}
	r.now = t
	r.d.Advance(t)
}

// Timers fire as on the kernel's timer wheel (kernel/time/timer.c, HZ=250,
// see ipvs/timer.go): a timer armed at now for d fires at the end of its
// wheel bucket, ipvs.WheelFireTime(now, d), while listings count down to
// now+d and show 0 once that deadline has passed.

// fires returns when a timer armed at armed (seconds) for d fires.
func fires(armed float64, d time.Duration) ipvs.Time { return ipvs.WheelFireTime(sec(armed), d) }

// nextTick is when a timer moved to the current jiffy at now fires
// (ip_vs_conn_expire_now: mod_timer_pending(&cp->timer, jiffies)).
func nextTick(now ipvs.Time) ipvs.Time { return ipvs.WheelFireTime(now, 0) }

// wheelLateness is the most a timer armed for d fires after its deadline:
// the granularity of the wheel level calc_wheel_index picks for d (level n
// holds delays from LVL_START(n) = 63 << 3(n-1) jiffies and rounds to
// 8^n jiffies: 4 ms, 32 ms, 256 ms, 2.048 s, 16.384 s, ...). It is written
// from the kernel's constants, independently of the package's code.
func wheelLateness(d time.Duration) time.Duration {
	const lvlClkShift, lvlBits, lvlDepth = 3, 6, 9
	delta := int64(d / ipvs.Jiffy)
	lvl := 0
	for lvl < lvlDepth-1 && delta >= int64(1<<lvlBits-1)<<(lvl*lvlClkShift) {
		lvl++
	}
	return ipvs.Jiffy << (lvl * lvlClkShift)
}

func ap(s string) netip.AddrPort {
	if a, err := netip.ParseAddrPort(s); err == nil {
		return a
	}
	return netip.AddrPortFrom(netip.MustParseAddr(s), 0)
}

func tcpSvc(vip string) ipvs.ServiceKey {
	a := ap(vip)
	return ipvs.ServiceKey{Protocol: ipvs.ProtoTCP, Addr: a.Addr(), Port: a.Port()}
}

func udpSvc(vip string) ipvs.ServiceKey {
	a := ap(vip)
	return ipvs.ServiceKey{Protocol: ipvs.ProtoUDP, Addr: a.Addr(), Port: a.Port()}
}

func fwmSvc(mark uint32) ipvs.ServiceKey { return ipvs.ServiceKey{FWMark: mark} }

// svcOpt changes a service configuration before it is added.
type svcOpt func(*ipvs.ServiceConfig)

func persist(timeout uint32) svcOpt {
	return func(c *ipvs.ServiceConfig) { c.Flags |= ipvs.SvcPersistent; c.Timeout = timeout }
}

func netmask(m string) svcOpt {
	return func(c *ipvs.ServiceConfig) {
		if a, err := netip.ParseAddr(m); err == nil && a.Is4() {
			b := a.As4()
			c.Netmask = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
			return
		}
		var n uint32
		fmt.Sscan(m, &n)
		c.Netmask = n
	}
}

func onePacket(c *ipvs.ServiceConfig) { c.Flags |= ipvs.SvcOnePacket }

func (r *rig) addSvc(k ipvs.ServiceKey, scheduler string, opts ...svcOpt) ipvs.ServiceKey {
	r.t.Helper()
	cfg := ipvs.ServiceConfig{ServiceKey: k, Scheduler: scheduler}
	for _, o := range opts {
		o(&cfg)
	}
	if err := r.d.AddService(cfg); err != nil {
		r.t.Fatalf("AddService %+v: %v", k, err)
	}
	return k
}

// destOpt changes a dest configuration.
type destOpt func(*ipvs.DestConfig)

func weight(w int32) destOpt { return func(c *ipvs.DestConfig) { c.Weight = w } }
func thresholds(u, l uint32) destOpt {
	return func(c *ipvs.DestConfig) { c.UThreshold, c.LThreshold = u, l }
}
func method(m ipvs.FwdMethod) destOpt { return func(c *ipvs.DestConfig) { c.Method = m } }
func destCfg(addr string, opts ...destOpt) ipvs.DestConfig {
	a := ap(addr)
	c := ipvs.DestConfig{Addr: a.Addr(), Port: a.Port(), Weight: 1, Method: ipvs.FwdMasq}
	for _, o := range opts {
		o(&c)
	}
	return c
}

func (r *rig) addDest(k ipvs.ServiceKey, addr string, opts ...destOpt) {
	r.t.Helper()
	if err := r.d.AddDest(k, destCfg(addr, opts...)); err != nil {
		r.t.Fatalf("AddDest %s: %v", addr, err)
	}
}

func (r *rig) editDest(k ipvs.ServiceKey, addr string, opts ...destOpt) {
	r.t.Helper()
	if err := r.d.EditDest(k, destCfg(addr, opts...)); err != nil {
		r.t.Fatalf("EditDest %s: %v", addr, err)
	}
}

func (r *rig) delDest(k ipvs.ServiceKey, addr string) {
	r.t.Helper()
	a := ap(addr)
	if err := r.d.DelDest(k, a.Addr(), a.Port()); err != nil {
		r.t.Fatalf("DelDest %s: %v", addr, err)
	}
}

func (r *rig) settings(mod func(*ipvs.Settings)) {
	s := r.d.Settings()
	mod(&s)
	r.d.SetSettings(s)
}

// Packets. Addresses are "a.b.c.d:port" (IPv6: "[x::y]:port").

func tcpPkt(src, dst string, flags uint8) *ipvs.Packet {
	s, d := ap(src), ap(dst)
	return &ipvs.Packet{Protocol: ipvs.ProtoTCP, Src: s.Addr(), SrcPort: s.Port(), Dst: d.Addr(), DstPort: d.Port(),
		TCPFlags: flags, Len: 60}
}

func syn(src, dst string) *ipvs.Packet { return tcpPkt(src, dst, ipvs.TCPSyn) }
func ack(src, dst string) *ipvs.Packet { return tcpPkt(src, dst, ipvs.TCPAck) }

// reply is a packet from the real server src to the client dst (NAT output).
func reply(src, dst string, flags uint8) *ipvs.Packet {
	p := tcpPkt(src, dst, flags)
	p.Dir = ipvs.DirOut
	return p
}

func udpPkt(src, dst string) *ipvs.Packet {
	s, d := ap(src), ap(dst)
	return &ipvs.Packet{Protocol: ipvs.ProtoUDP, Src: s.Addr(), SrcPort: s.Port(), Dst: d.Addr(), DstPort: d.Port(), Len: 29}
}

func marked(p *ipvs.Packet, mark uint32) *ipvs.Packet { p.Mark = mark; return p }

// send processes p at the rig's current time.
func (r *rig) send(p *ipvs.Packet) ipvs.Result { return r.d.Process(p, r.now) }

// forwardTo sends p and requires it to be forwarded to dest ("addr:port").
func (r *rig) forwardTo(p *ipvs.Packet, dest string) ipvs.Result {
	r.t.Helper()
	res := r.send(p)
	if res.Verdict != ipvs.VerdictForward || res.Conn == nil {
		r.t.Fatalf("%s: verdict %v (%v), want forward to %s", pktString(p), res.Verdict, res.Reason, dest)
	}
	if got := res.Conn.DestAddrPort(); got != ap(dest) {
		r.t.Fatalf("%s: forwarded to %s, want %s", pktString(p), got, dest)
	}
	return res
}

// outcome sends p and requires the verdict and reason.
func (r *rig) outcome(p *ipvs.Packet, v ipvs.Verdict, why ipvs.Reason) ipvs.Result {
	r.t.Helper()
	res := r.send(p)
	if res.Verdict != v || res.Reason != why {
		r.t.Fatalf("%s: got %v/%v, want %v/%v", pktString(p), res.Verdict, res.Reason, v, why)
	}
	return res
}

func pktString(p *ipvs.Packet) string {
	return fmt.Sprintf("%s %s->%s flags %#x mark %d", ipvs.ProtoName(p.Protocol),
		netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort), p.TCPFlags, p.Mark)
}

// entry renders a connection-table entry the way ipvsadm -L -c shows it,
// without the expiry: "TCP SYN_RECV 10.9.0.1:40001 10.0.0.1:80 10.8.0.3:80".
func entry(c ipvs.ConnInfo) string {
	return fmt.Sprintf("%s %s %s %s %s", ipvs.ProtoName(c.Protocol), c.State, c.Client, c.Virtual, c.Dest)
}

// table returns the entries of the connection table, sorted.
func (r *rig) table() []string {
	var out []string
	for _, c := range r.d.Conns(r.now) {
		out = append(out, entry(c))
	}
	sort.Strings(out)
	return out
}

// wantTable compares the whole table with want (any order).
func (r *rig) wantTable(want ...string) {
	r.t.Helper()
	got := r.table()
	w := append([]string(nil), want...)
	sort.Strings(w)
	if strings.Join(got, "\n") != strings.Join(w, "\n") {
		r.t.Fatalf("connection table:\n  got:\n    %s\n  want:\n    %s", strings.Join(got, "\n    "), strings.Join(w, "\n    "))
	}
}

// find returns the entry rendered as e (see entry) and its expiry.
func (r *rig) find(e string) (ipvs.ConnInfo, bool) {
	for _, c := range r.d.Conns(r.now) {
		if entry(c) == e {
			return c, true
		}
	}
	return ipvs.ConnInfo{}, false
}

// wantExpires requires entry e to exist with exactly d left.
func (r *rig) wantExpires(e string, d time.Duration) {
	r.t.Helper()
	c, ok := r.find(e)
	if !ok {
		r.t.Fatalf("entry %q not in table:\n    %s", e, strings.Join(r.table(), "\n    "))
	}
	if c.Expires != d {
		r.t.Fatalf("entry %q expires in %v, want %v", e, c.Expires, d)
	}
}

// counters renders a service's dests as "addr:port A/I/P" in list order;
// O is appended when the dest is OVERLOADED.
func (r *rig) counters(k ipvs.ServiceKey) string {
	r.t.Helper()
	si, err := r.d.Service(k)
	if err != nil {
		r.t.Fatalf("Service %+v: %v", k, err)
	}
	var parts []string
	for _, x := range si.Dests {
		s := fmt.Sprintf("%s %d/%d/%d", netip.AddrPortFrom(x.Addr, x.Port), x.ActiveConns, x.InactConns, x.PersistConns)
		if x.Overloaded {
			s += " O"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

// wantCounters compares the dest counters (ActiveConn/InActConn/PersistConn)
// in list order (newest first).
func (r *rig) wantCounters(k ipvs.ServiceKey, want string) {
	r.t.Helper()
	if got := r.counters(k); got != want {
		r.t.Fatalf("counters of %v:\n  got  %s\n  want %s", k, got, want)
	}
}

// stats returns a service's statistics after an estimator tick.
func (r *rig) svcStats(k ipvs.ServiceKey) ipvs.StatsInfo {
	r.t.Helper()
	si, err := r.d.Service(k)
	if err != nil {
		r.t.Fatalf("Service: %v", err)
	}
	return si.Stats
}

// memGuard panics (ending the test binary with a message) when the live
// heap grows by more than limit bytes while it runs: a corrupted connection
// table (a chain that loops) makes Conns() append forever, and the machine
// is shared. The returned function stops the guard.
func memGuard(name string, limit uint64) func() {
	stop := make(chan struct{})
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	go func() {
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
			}
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > base+limit {
				panic(fmt.Sprintf("%s: heap grew by %d MiB: runaway loop (connection table chain cycle?)", name, (v-base)>>20))
			}
		}
	}()
	return func() { close(stop) }
}
