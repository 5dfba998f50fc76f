package ipvs_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
)

// fuzzDirector builds the fixed configuration the fuzzer plays packets
// against: persistent and not, TCP/UDP/SCTP, fwmark, port zero, FTP, ops,
// SIP, IPv6, thresholds, NAT/DR/tunnel, several schedulers. Every real
// server address is unique, so table entries can be attributed to dests.
func fuzzDirector(t testing.TB) *rig {
	r := newRig(t, nil)
	add := func(cfg ipvs.ServiceConfig, dests ...ipvs.DestConfig) {
		if err := r.d.AddService(cfg); err != nil {
			t.Fatalf("AddService %+v: %v", cfg.ServiceKey, err)
		}
		for _, d := range dests {
			if err := r.d.AddDest(cfg.ServiceKey, d); err != nil {
				t.Fatalf("AddDest %v: %v", d.Addr, err)
			}
		}
	}
	P := ipvs.SvcPersistent
	add(ipvs.ServiceConfig{ServiceKey: tcpSvc("10.0.0.1:80"), Scheduler: "rr", Flags: P, Timeout: 30, Netmask: 0xffffff00},
		destCfg("10.8.1.1:80"), destCfg("10.8.1.2:80", thresholds(3, 0)))
	add(ipvs.ServiceConfig{ServiceKey: tcpSvc("10.0.0.1:21"), Scheduler: "wlc", Flags: P, Timeout: 60},
		destCfg("10.8.2.1:21", method(ipvs.FwdRoute)), destCfg("10.8.2.2:21", method(ipvs.FwdRoute), weight(2)))
	add(ipvs.ServiceConfig{ServiceKey: udpSvc("10.0.0.2:53"), Scheduler: "rr", Flags: ipvs.SvcOnePacket},
		destCfg("10.8.3.1:53"), destCfg("10.8.3.2:53"))
	add(ipvs.ServiceConfig{ServiceKey: udpSvc("10.0.0.2:0"), Scheduler: "sh", Flags: P, Timeout: 10},
		destCfg("10.8.4.1:0"), destCfg("10.8.4.2:0", weight(0)))
	add(ipvs.ServiceConfig{ServiceKey: fwmSvc(5), Scheduler: "rr", Flags: P | ipvs.SvcOnePacket, Timeout: 20},
		destCfg("10.8.5.1:0"), destCfg("10.8.5.2:8080"))
	add(ipvs.ServiceConfig{ServiceKey: fwmSvc(6), Scheduler: "lc"}, destCfg("10.8.6.1:0", thresholds(2, 1)))
	add(ipvs.ServiceConfig{ServiceKey: tcpSvc("[2001:db8::1]:443"), Scheduler: "mh", Flags: P, Timeout: 40, Netmask: 64},
		destCfg("[2001:db8:8::1]:443"), destCfg("[2001:db8:8::2]:443"))
	add(ipvs.ServiceConfig{ServiceKey: ipvs.ServiceKey{Protocol: ipvs.ProtoSCTP, Addr: netip.MustParseAddr("10.0.0.3"), Port: 5000}, Scheduler: "rr"},
		destCfg("10.8.7.1:5000", method(ipvs.FwdTunnel)))
	add(ipvs.ServiceConfig{ServiceKey: tcpSvc("10.0.0.3:0"), Scheduler: "rr"}, destCfg("10.8.9.1:0"))
	add(ipvs.ServiceConfig{ServiceKey: udpSvc("10.0.0.1:5060"), Scheduler: "rr", Flags: P, Timeout: 30, PE: "sip"},
		destCfg("10.8.8.1:5060"))
	return r
}

var (
	fuzzVIPs  = []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.9"}
	fuzzPorts = []uint16{80, 21, 20, 2121, 53, 5000, 443, 5060, 1023, 1024, 65535, 0, 8080, 123}
	fuzzDests = []string{"10.8.1.1:80", "10.8.1.2:80", "10.8.2.1:21", "10.8.2.2:21", "10.8.3.1:53", "10.8.4.1:53",
		"10.8.5.1:80", "10.8.5.2:8080", "10.8.6.1:80", "[2001:db8:8::1]:443", "10.8.7.1:5000", "10.8.9.1:22", "10.8.8.1:5060"}
)

// fuzzPacket decodes one 10-byte record into a packet and a time step.
//
//	b0: bits 0-1 protocol (TCP, UDP, SCTP, ICMP), bit 2 reply direction,
//	    bit 3 IPv6, bits 4-5 mark (none, 5, 6, 7), bits 6-7 time scale
//	b1: client host; b2-b3: client port
//	b4: virtual address (or, for replies, real server) index
//	b5-b6: destination port (b5 bit 7 set: a service port from a list)
//	b7: TCP flags / SCTP first chunk; b8: time step; b9: SCTP next chunk / SIP Call-ID
func fuzzPacket(b []byte) (*ipvs.Packet, time.Duration) {
	p := &ipvs.Packet{Len: 40 + int(b[8])}
	switch b[0] & 3 {
	case 0:
		p.Protocol = ipvs.ProtoTCP
	case 1:
		p.Protocol = ipvs.ProtoUDP
	case 2:
		p.Protocol = ipvs.ProtoSCTP
	default:
		p.Protocol = 1 // ICMP: not handled by the core
	}
	v6 := b[0]&8 != 0
	var client netip.Addr
	if v6 {
		client = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 9, 0, b[1] >> 4, 15: b[1] & 15})
	} else {
		client = netip.AddrFrom4([4]byte{10, 9, b[1] >> 4, b[1] & 15})
	}
	cport := uint16(b[2])<<8 | uint16(b[3])
	var vip netip.Addr
	if v6 {
		vip = netip.MustParseAddr("2001:db8::1")
	} else {
		vip = netip.MustParseAddr(fuzzVIPs[int(b[4])%len(fuzzVIPs)])
	}
	vport := uint16(b[5])<<8 | uint16(b[6])
	if b[5]&0x80 != 0 {
		vport = fuzzPorts[int(b[6])%len(fuzzPorts)]
	}
	p.Mark = [4]uint32{0, 5, 6, 7}[b[0]>>4&3]
	p.TCPFlags = b[7] & 0x1f
	p.SCTPChunk = b[7] % 16
	p.SCTPNextChunk = b[9] % 16
	if b[9]&0x80 != 0 {
		p.SCTPNextChunk = ipvs.SCTPNone
	}
	if b[9]&1 != 0 {
		p.Payload = []byte(fmt.Sprintf("INVITE sip:x SIP/2.0\r\nCall-ID: c%d\r\n\r\n", b[9]>>1&7))
	}
	if b[0]&4 != 0 {
		p.Dir = ipvs.DirOut
		d := ap(fuzzDests[int(b[4])%len(fuzzDests)])
		if v6 {
			d = ap(fuzzDests[9])
		}
		p.Src, p.SrcPort = d.Addr(), d.Port()
		p.Dst, p.DstPort = client, cport
		p.Mark = 0
	} else {
		p.Src, p.SrcPort = client, cport
		p.Dst, p.DstPort = vip, vport
	}
	var step time.Duration
	switch b[0] >> 6 {
	case 1:
		step = time.Duration(b[8]) * time.Millisecond
	case 2:
		step = time.Duration(b[8]) * 250 * time.Millisecond
	case 3:
		step = time.Duration(b[8]) * time.Second
	}
	return p, step
}

// checkInvariants verifies what must hold whatever the traffic: the table
// count, templates' shape, and every dest's counters equal to the entries
// bound to it (ip_vs_bind_dest / ip_vs_unbind_dest / set_*_state), never
// negative. Dest addresses must be unique across services.
func checkInvariants(t testing.TB, d *ipvs.Director, now ipvs.Time) {
	t.Helper()
	conns := d.Conns(now)
	if n := d.ConnCount(); n != len(conns) {
		t.Fatalf("ConnCount %d, Conns() lists %d", n, len(conns))
	}
	type cnt struct{ active, inact, persist int }
	byAddr := map[netip.Addr]*cnt{}
	for _, c := range conns {
		if c.Template {
			if c.Client.Port() != 0 || c.Flags&ipvs.ConnTemplate == 0 {
				t.Fatalf("malformed template %s", entry(c))
			}
		}
		if c.Flags&ipvs.ConnOnePacket != 0 {
			t.Fatalf("one-packet connection listed: %s", entry(c))
		}
		if c.Expires < 0 {
			t.Fatalf("negative expiry %s", entry(c))
		}
		x := byAddr[c.Dest.Addr()]
		if x == nil {
			x = &cnt{}
			byAddr[c.Dest.Addr()] = x
		}
		switch {
		case c.Template:
			x.persist++
		case c.Flags&ipvs.ConnInactive == 0:
			x.active++
		default:
			x.inact++
		}
	}
	for _, s := range d.Services() {
		for _, x := range s.Dests {
			if x.ActiveConns > 1<<30 || x.InactConns > 1<<30 || x.PersistConns > 1<<30 {
				t.Fatalf("negative counter on %s: %d/%d/%d", x.Addr, x.ActiveConns, x.InactConns, x.PersistConns)
			}
			w := byAddr[x.Addr]
			if w == nil {
				w = &cnt{}
			}
			if int(x.ActiveConns) != w.active || int(x.InactConns) != w.inact || int(x.PersistConns) != w.persist {
				t.Fatalf("counters of %s %d/%d/%d, table shows %d/%d/%d", x.Addr,
					x.ActiveConns, x.InactConns, x.PersistConns, w.active, w.inact, w.persist)
			}
		}
	}
}

// FuzzProcess plays random packets against a fixed configuration: Process
// and Explain must never panic, Explain must agree with Process on the
// verdict of packets of existing connections, and the director's
// invariants must hold after every packet and once everything expired.
func FuzzProcess(f *testing.F) {
	f.Add([]byte{0x40, 0x11, 0x10, 0x00, 0x00, 0x80, 0x00, 0x02, 0x10, 0x00})
	f.Add([]byte{0x41, 0x22, 0x13, 0x88, 0x01, 0x80, 0x04, 0x00, 0x01, 0x00,
		0x41, 0x22, 0x13, 0x89, 0x01, 0x80, 0x04, 0x00, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 10*400 {
			data = data[:10*400]
		}
		r := fuzzDirector(t)
		for len(data) >= 10 {
			p, step := fuzzPacket(data[:10])
			data = data[10:]
			if step > 0 {
				r.now = r.now.Add(step)
				r.d.Advance(r.now)
			}
			ex := r.d.Explain(*p, r.now)
			res := r.d.Process(p, r.now)
			if ex.Existing != nil && res.New {
				t.Fatalf("%s: Explain saw an existing connection, Process created one", pktString(p))
			}
			if res.Verdict == ipvs.VerdictForward && res.Conn == nil {
				t.Fatalf("%s: forward without a connection", pktString(p))
			}
			if res.Verdict == ipvs.VerdictForward && p.Dir == ipvs.DirIn && ex.Verdict != ipvs.VerdictForward {
				t.Fatalf("%s: Explain %v/%v, Process forwarded (%v)", pktString(p), ex.Verdict, ex.Outcome, res.Reason)
			}
			checkInvariants(t, r.d, r.now)
		}
		r.now = r.now.Add(3 * time.Hour)
		r.d.Advance(r.now)
		checkInvariants(t, r.d, r.now)
		if n := r.d.ConnCount(); n != 0 {
			t.Fatalf("%d entries left after 3 idle hours: %v", n, r.table())
		}
	})
}
