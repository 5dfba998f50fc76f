package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
)

const baseConfig = `
services:
  - tcp: 192.0.2.1:80
    scheduler: rr
    servers:
      - address: 10.0.0.1
      - address: 10.0.0.2
      - address: 10.0.0.3
  - tcp: 192.0.2.1:443
    scheduler: wlc
    servers:
      - address: 10.0.0.1
      - address: 10.0.0.2
  - udp: 192.0.2.1:53
    scheduler: rr
    servers:
      - address: 10.0.0.9
`

// reloaded leaves :80 as it was, edits :443 (scheduler, a weight, one
// server replaced), drops :53 and adds :8080.
const reloadedConfig = `
services:
  - tcp: 192.0.2.1:443
    scheduler: wrr
    persistent: 60
    servers:
      - address: 10.0.0.1
        weight: 5
      - address: 10.0.0.4
  - tcp: 192.0.2.1:80
    scheduler: rr
    servers:
      - address: 10.0.0.1
      - address: 10.0.0.2
      - address: 10.0.0.3
  - tcp: 192.0.2.1:8080
    servers:
      - address: 10.0.0.5
`

func load(t *testing.T, s string) State {
	t.Helper()
	c, err := Load(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Desired()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newDirector(t *testing.T, cfg string) *ipvs.Director {
	t.Helper()
	d := ipvs.NewDirector(&ipvs.Config{Schedulers: sched.New})
	if err := Apply(d, Diff(d.Services(), load(t, cfg))); err != nil {
		t.Fatal(err)
	}
	return d
}

var vip80 = netip.MustParseAddrPort("192.0.2.1:80")

// syn sends a connection's first packet (or, with ack, a later one) from
// client 198.51.100.1:port to vip and returns the real server and whether
// the packet created the connection.
func syn(t *testing.T, d *ipvs.Director, vip netip.AddrPort, port uint16, ack bool, now ipvs.Time) (netip.AddrPort, bool) {
	t.Helper()
	p := &ipvs.Packet{Family: ipvs.AFInet, Protocol: ipvs.ProtoTCP,
		Src: netip.MustParseAddr("198.51.100.1"), SrcPort: port, Dst: vip.Addr(), DstPort: vip.Port(),
		Dir: ipvs.DirIn, TCPFlags: ipvs.TCPSyn, Len: 60}
	if ack {
		p.TCPFlags = ipvs.TCPAck
	}
	r := d.Process(p, now)
	if r.Verdict != ipvs.VerdictForward || r.Conn == nil {
		t.Fatalf("packet from port %d to %s: verdict %v", port, vip, r.Verdict)
	}
	return r.Conn.DestAddrPort(), r.New
}

// recorder is a Target that logs each call before passing it on.
type recorder struct {
	Target
	calls []string
}

func (r *recorder) AddService(c ipvs.ServiceConfig) error {
	r.calls = append(r.calls, "AddService "+keyString(c.ServiceKey))
	return r.Target.AddService(c)
}
func (r *recorder) EditService(c ipvs.ServiceConfig) error {
	r.calls = append(r.calls, "EditService "+keyString(c.ServiceKey))
	return r.Target.EditService(c)
}
func (r *recorder) DelService(k ipvs.ServiceKey) error {
	r.calls = append(r.calls, "DelService "+keyString(k))
	return r.Target.DelService(k)
}
func (r *recorder) AddDest(k ipvs.ServiceKey, dc ipvs.DestConfig) error {
	r.calls = append(r.calls, fmt.Sprintf("AddDest %s %s", keyString(k), netip.AddrPortFrom(dc.Addr, dc.Port)))
	return r.Target.AddDest(k, dc)
}
func (r *recorder) EditDest(k ipvs.ServiceKey, dc ipvs.DestConfig) error {
	r.calls = append(r.calls, fmt.Sprintf("EditDest %s %s", keyString(k), netip.AddrPortFrom(dc.Addr, dc.Port)))
	return r.Target.EditDest(k, dc)
}
func (r *recorder) DelDest(k ipvs.ServiceKey, a netip.Addr, port uint16) error {
	r.calls = append(r.calls, fmt.Sprintf("DelDest %s %s", keyString(k), netip.AddrPortFrom(a, port)))
	return r.Target.DelDest(k, a, port)
}

func keyString(k ipvs.ServiceKey) string {
	if k.FWMark != 0 {
		return fmt.Sprintf("fwm %d", k.FWMark)
	}
	return ipvs.ProtoName(k.Protocol) + " " + netip.AddrPortFrom(k.Addr, k.Port).String()
}

// TestReloadKeepsUnchangedService: a reload that touches other services
// makes no call for an unchanged one, so its connections go on and its rr
// cursor stays where it was: new connections go where they would have gone
// without the reload.
func TestReloadKeepsUnchangedService(t *testing.T) {
	d := newDirector(t, baseConfig)
	twin := newDirector(t, baseConfig) // never reloaded
	now := ipvs.Time(time.Second)

	// Two connections to :80 move the cursor on both directors.
	var first netip.AddrPort
	for i, port := range []uint16{40001, 40002} {
		a, _ := syn(t, d, vip80, port, false, now)
		b, _ := syn(t, twin, vip80, port, false, now)
		if a != b {
			t.Fatalf("before the reload the directors disagree: %s, %s", a, b)
		}
		if i == 0 {
			first = a
		}
	}

	r := &recorder{Target: d}
	changes := Diff(d.Services(), load(t, reloadedConfig))
	if err := Apply(r, changes); err != nil {
		t.Fatal(err)
	}
	wantCalls := []string{
		"DelService UDP 192.0.2.1:53",
		"EditService TCP 192.0.2.1:443",
		"DelDest TCP 192.0.2.1:443 10.0.0.2:443",
		"EditDest TCP 192.0.2.1:443 10.0.0.1:443",
		"AddDest TCP 192.0.2.1:443 10.0.0.4:443",
		"AddService TCP 192.0.2.1:8080",
		"AddDest TCP 192.0.2.1:8080 10.0.0.5:8080",
	}
	if got := strings.Join(r.calls, "\n"); got != strings.Join(wantCalls, "\n") {
		t.Fatalf("calls:\n%s\nwant:\n%s", got, strings.Join(wantCalls, "\n"))
	}
	for _, c := range r.calls {
		if strings.Contains(c, ":80 ") || strings.HasSuffix(c, ":80") {
			t.Errorf("unchanged service touched: %s", c)
		}
	}

	// The first connection survives: its next packet finds it.
	now += ipvs.Time(time.Second)
	d.Advance(now)
	if got, isNew := syn(t, d, vip80, 40001, true, now); isNew || got != first {
		t.Errorf("after the reload the connection from 40001 went to %s (new %v), want existing to %s", got, isNew, first)
	}
	// The cursor was kept: the next new connections go where the twin's do.
	for port := uint16(40003); port < 40009; port++ {
		a, _ := syn(t, d, vip80, port, false, now)
		b, _ := syn(t, twin, vip80, port, false, now)
		if a != b {
			t.Errorf("new connection from %d went to %s, without the reload to %s", port, a, b)
		}
	}

	// Applied once, the configuration has nothing left to change.
	if again := Diff(d.Services(), load(t, reloadedConfig)); len(again) != 0 {
		t.Errorf("second Diff: %v", again)
	}
}

// TestEditNotRecreate: a changed scheduler is an edit of the service, never
// a delete and add, so its connections stay bound to it.
func TestEditNotRecreate(t *testing.T) {
	d := newDirector(t, baseConfig)
	now := ipvs.Time(time.Second)
	first, _ := syn(t, d, vip80, 41000, false, now)
	changes := Diff(d.Services(), load(t, strings.Replace(baseConfig, "scheduler: rr", "scheduler: wrr", 1)))
	if len(changes) != 1 || changes[0].Op != OpEditService || changes[0].String() != "-E -t 192.0.2.1:80 -s wrr" {
		t.Fatalf("changes = %v, want one edit of :80", changes)
	}
	if err := Apply(d, changes); err != nil {
		t.Fatal(err)
	}
	if got, isNew := syn(t, d, vip80, 41000, true, now); isNew || got != first {
		t.Errorf("connection went to %s (new %v) after the edit, want existing to %s", got, isNew, first)
	}
	si, err := d.Service(ipvs.ServiceKey{Protocol: ipvs.ProtoTCP, Addr: vip80.Addr(), Port: 80})
	if err != nil || si.Scheduler != "wrr" || si.Dests[0].ActiveConns+si.Dests[0].InactConns+
		si.Dests[1].ActiveConns+si.Dests[1].InactConns+si.Dests[2].ActiveConns+si.Dests[2].InactConns != 1 {
		t.Errorf("service after edit: %+v, %v", si, err)
	}
}

// TestDiffRemovesForeign: services and servers added outside the file (by
// ipvsadm) are removed: the file is the whole truth.
func TestDiffRemovesForeign(t *testing.T) {
	d := newDirector(t, baseConfig)
	k := ipvs.ServiceKey{Protocol: ipvs.ProtoTCP, Addr: vip80.Addr(), Port: 80}
	if err := d.AddDest(k, ipvs.DestConfig{Addr: netip.MustParseAddr("10.0.0.99"), Port: 80, Weight: 1}); err != nil {
		t.Fatal(err)
	}
	if err := d.AddService(ipvs.ServiceConfig{ServiceKey: ipvs.ServiceKey{FWMark: 9}, Scheduler: "rr"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range Diff(d.Services(), load(t, baseConfig)) {
		got = append(got, c.String())
	}
	want := "-D -f 9\n-d -t 192.0.2.1:80 -r 10.0.0.99:80"
	if strings.Join(got, "\n") != want {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}

// TestBadFileChangesNothing: a file that fails anywhere, even in its last
// line, is refused before any change is made.
func TestBadFileChangesNothing(t *testing.T) {
	d := newDirector(t, baseConfig)
	before := fmt.Sprint(d.Services())
	bad := reloadedConfig + "      - address: 10.0.0.5:8080\n" // duplicate server, last line
	c, err := Load(strings.NewReader(bad))
	if err == nil || c != nil {
		t.Fatalf("Load accepted a bad file")
	}
	want := "config: line 19: services[2].servers[1].address: 10.0.0.5:8080 is already servers[0]"
	if err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	if after := fmt.Sprint(d.Services()); after != before {
		t.Errorf("director changed")
	}
}

// failing fails the nth call.
type failing struct {
	Target
	n int
}

func (f *failing) AddDest(k ipvs.ServiceKey, dc ipvs.DestConfig) error {
	if f.n--; f.n == 0 {
		return ipvs.ErrDestExists
	}
	return f.Target.AddDest(k, dc)
}

func TestApplyStopsAtError(t *testing.T) {
	d := ipvs.NewDirector(&ipvs.Config{Schedulers: sched.New})
	err := Apply(&failing{Target: d, n: 2}, Diff(nil, load(t, baseConfig)))
	want := "config: apply -a -t 192.0.2.1:80 -r 10.0.0.2:80 -m -w 1: destination already exists"
	if err == nil || err.Error() != want || !errors.Is(err, ipvs.ErrDestExists) {
		t.Fatalf("Apply: %v, want %s", err, want)
	}
	if n := len(d.Services()); n != 1 {
		t.Errorf("%d services after stopping at the second change's dest, want 1", n)
	}
}

// TestDiffIgnoresUnusedPersistence: timeout and netmask of a service that
// is not persistent have no effect, so a difference there is no edit.
func TestDiffIgnoresUnusedPersistence(t *testing.T) {
	d := ipvs.NewDirector(&ipvs.Config{Schedulers: sched.New})
	k := ipvs.ServiceKey{Protocol: ipvs.ProtoTCP, Addr: vip80.Addr(), Port: 80}
	if err := d.AddService(ipvs.ServiceConfig{ServiceKey: k, Scheduler: "rr", Timeout: 300, Netmask: 0xffffff00}); err != nil {
		t.Fatal(err)
	}
	if ch := Diff(d.Services(), load(t, "services:\n  - tcp: 192.0.2.1:80\n    scheduler: rr\n")); len(ch) != 0 {
		t.Errorf("changes: %v", ch)
	}
	ch := Diff(d.Services(), load(t, "services:\n  - tcp: 192.0.2.1:80\n    scheduler: rr\n    persistent: 300\n"))
	if len(ch) != 1 || ch[0].String() != "-E -t 192.0.2.1:80 -s rr -p 300" {
		t.Errorf("changes: %v", ch)
	}
}
