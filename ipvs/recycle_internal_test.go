package ipvs

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// TestRecycledEntriesStartClean: two directors get the same packets and
// the same clock; one reuses the entries its timers free (recycle.go), the
// other never does. After every step their listings (entries but for Seq,
// services, dests, counters) are the same: a reused entry keeps nothing
// of its former life (state, flags, packets, controller, persistence
// engine data, timer). Reuse must happen, for templates and connections.
func TestRecycledEntriesStartClean(t *testing.T) {
	mk := func() *Director {
		d := NewDirector(&Config{Schedulers: func(string) (Scheduler, error) { return &cycler{}, nil }})
		d.Advance(0)
		tcp := ServiceKey{Family: AFInet, Protocol: ProtoTCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
		udp := ServiceKey{Family: AFInet, Protocol: ProtoUDP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 53}
		sip := ServiceKey{Family: AFInet, Protocol: ProtoUDP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 5060}
		v6 := ServiceKey{Family: AFInet6, Protocol: ProtoTCP, Addr: netip.MustParseAddr("2001:db8::1"), Port: 443}
		fwm := ServiceKey{Family: AFInet, FWMark: 3}
		for _, sc := range []ServiceConfig{
			{ServiceKey: v6, Scheduler: "rr", Flags: SvcPersistent, Timeout: 20, Netmask: 64},
			{ServiceKey: fwm, Scheduler: "rr", Flags: SvcPersistent, Timeout: 20},
			{ServiceKey: tcp, Scheduler: "rr", Flags: SvcPersistent, Timeout: 30, Netmask: 0xffffff00, NetmaskSet: true},
			{ServiceKey: udp, Scheduler: "rr"},
			{ServiceKey: sip, Scheduler: "rr", Flags: SvcPersistent, Timeout: 30, PE: "sip"},
		} {
			if err := d.AddService(sc); err != nil {
				t.Fatal(err)
			}
			for i, m := range []FwdMethod{FwdMasq, FwdRoute} {
				dc := DestConfig{Addr: netip.AddrFrom4([4]byte{10, 8, 0, byte(i + 1)}), Port: sc.Port, Method: m, Weight: 1}
				if sc.Family == AFInet6 {
					dc.Addr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i + 1)})
				}
				if err := d.AddDest(sc.ServiceKey, dc); err != nil {
					t.Fatal(err)
				}
			}
		}
		return d
	}
	reuse, fresh := mk(), mk()
	fresh.free.off = true
	seen := map[*Conn]bool{}
	reused := map[bool]int{}
	now := Time(0)
	step := func(what string, f func(d *Director)) {
		t.Helper()
		f(reuse)
		f(fresh)
		a, b := reuse.Conns(now), fresh.Conns(now)
		for i := range a {
			a[i].Seq = 0
		}
		for i := range b {
			b[i].Seq = 0
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: entries differ\nreusing: %+v\nfresh:   %+v", what, a, b)
		}
		if sa, sb := reuse.Services(), fresh.Services(); !reflect.DeepEqual(sa, sb) {
			t.Fatalf("%s: services differ\nreusing: %+v\nfresh:   %+v", what, sa, sb)
		}
	}
	send := func(d *Director, p Packet) {
		res := d.Process(&p, now)
		if d != reuse || res.Conn == nil || !res.New {
			return
		}
		if seen[res.Conn] {
			reused[false]++
		}
		seen[res.Conn] = true
		if ct := res.Conn.control; ct != nil {
			if seen[ct] {
				reused[true]++
			}
			seen[ct] = true
		}
	}
	vip := netip.MustParseAddr("10.0.0.1")
	for round := 0; round < 6; round++ {
		for i := 0; i < 40; i++ {
			// Networks and ports change every round; client 0 comes back
			// with the same tuple each time.
			src := netip.AddrFrom4([4]byte{10, 9, byte(i % 7), byte(round*40 + i)})
			port := uint16(1000 + round*100 + i)
			if i == 0 {
				src, port = netip.MustParseAddr("10.9.9.9"), 999
			}
			step(fmt.Sprintf("round %d client %d", round, i), func(d *Director) {
				send(d, Packet{Protocol: ProtoTCP, Src: src, SrcPort: port, Dst: vip, DstPort: 80, TCPFlags: TCPSyn, Len: 60})
				send(d, Packet{Protocol: ProtoTCP, Src: src, SrcPort: port, Dst: vip, DstPort: 80, TCPFlags: TCPAck, Len: 100})
				if i%3 == 0 {
					send(d, Packet{Protocol: ProtoTCP, Src: src, SrcPort: port, Dst: vip, DstPort: 80, TCPFlags: TCPFin | TCPAck, Len: 52})
				}
				send(d, Packet{Protocol: ProtoUDP, Src: src, SrcPort: port, Dst: vip, DstPort: 53, Len: 80})
				// fwmark 3 (any address), and IPv6 from a /64 per client.
				send(d, Packet{Protocol: ProtoTCP, Src: src, SrcPort: port, Dst: netip.MustParseAddr("192.0.2.9"), DstPort: 25,
					Mark: 3, TCPFlags: TCPSyn, Len: 60})
				src6 := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 9, 6: byte(i % 5), 15: byte(round)})
				send(d, Packet{Protocol: ProtoTCP, Src: src6, SrcPort: port, Dst: netip.MustParseAddr("2001:db8::1"), DstPort: 443,
					TCPFlags: TCPSyn, Len: 80})
				send(d, Packet{Protocol: ProtoUDP, Src: src, SrcPort: 5060, Dst: vip, DstPort: 5060, Len: 200,
					Payload: []byte(fmt.Sprintf("INVITE sip:a@b SIP/2.0\r\nCall-ID: call-%d-%d\r\n\r\n", round, i%5))})
			})
			now = now.Add(100 * time.Millisecond)
		}
		var v6, mark bool
		for _, ci := range reuse.Conns(now) {
			v6 = v6 || ci.Family == AFInet6
			mark = mark || ci.Template && ci.Protocol == ProtoIP && ci.Virtual.Addr() == netip.MustParseAddr("0.0.0.3")
		}
		if !v6 || !mark {
			t.Fatalf("round %d: IPv6 entries %v, fwmark templates %v; want both", round, v6, mark)
		}
		// Let every entry expire, a few seconds at a time.
		for k := 0; k < 200; k++ {
			now = now.Add(5 * time.Second)
			step(fmt.Sprintf("round %d, %v", round, now), func(d *Director) { d.Advance(now) })
		}
		if n := reuse.ConnCount(); n != 0 {
			t.Fatalf("round %d: %d entries left", round, n)
		}
	}
	// sync.Pool may drop entries (it does at random under the race
	// detector), so only ask for some reuse of each kind.
	if reused[false] == 0 || reused[true] == 0 {
		t.Fatalf("entries reused: %d connections, %d templates; want some of each", reused[false], reused[true])
	}
	t.Logf("reused %d connections, %d templates", reused[false], reused[true])
}

// cycler hands out a service's dests in turn (round robin over the list).
type cycler struct{ i int }

func (*cycler) Name() string { return "rr" }

func (r *cycler) Schedule(s *Service, _ *Packet, _ Time) *Dest {
	r.i++
	return s.dests[r.i%len(s.dests)]
}
