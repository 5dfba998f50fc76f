package ipvs_test

// Property tests: random (seeded, bounded) streams of new connections,
// packets, sleeps, weight changes and real-server deletions against a
// persistent service, checking after every event:
//   - persistence: a new connection of a client network goes to the real
//     server of its previous one while the template cannot have expired
//     (less than min(timeout, 60 s) since that connection) and that server
//     was not deleted in between (ip_vs_sched_persist, ip_vs_check_template);
//   - template lifetime: a template lives while it controls a connection,
//     and no template outlives max(last new connection + max(timeout, 60 s),
//     last controlled connection gone + 60 s), each plus the most the
//     kernel's timer wheel fires late for that delay (ip_vs_conn_expire and
//     its 60 s re-arm; kernel/time/timer.c, see wheelLateness);
//   - counters: never negative, and ActiveConn/InActConn/PersistConn equal
//     what Conns() shows (ip_vs_bind_dest, ip_vs_unbind_dest, set_tcp_state).

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
)

type propConfig struct {
	name    string
	sched   string
	fwmark  bool
	ops     bool
	timeout uint32
	events  int
}

type propConn struct {
	src, dst string
	proto    uint8
	dest     string // real server addr:port
}

func TestPropertyPersistence(t *testing.T) {
	configs := []propConfig{
		{"rr-p3", "rr", false, false, 3, 700},
		{"wlc-p30", "wlc", false, false, 30, 700},
		{"wrr-p90", "wrr", false, false, 90, 700},
		{"lc-p300", "lc", false, false, 300, 500},
		{"fwmark-tcp-udp-rr-p20", "rr", true, false, 20, 700},
		{"fwmark-ops-sh-p45", "sh", true, true, 45, 700},
	}
	for _, pc := range configs {
		for seed := uint64(1); seed <= 6; seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", pc.name, seed), func(t *testing.T) {
				runProperty(t, pc, seed)
			})
		}
	}
}

func runProperty(t *testing.T, pc propConfig, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x601f5))
	r := newRig(t, nil)
	const vip = "10.0.0.1"
	var k ipvs.ServiceKey
	opts := []svcOpt{persist(pc.timeout), netmask("255.255.255.0")}
	if pc.ops {
		opts = append(opts, onePacket)
	}
	if pc.fwmark {
		k = r.addSvc(fwmSvc(6), pc.sched, opts...)
	} else {
		k = r.addSvc(tcpSvc(vip+":80"), pc.sched, opts...)
	}
	dests := []string{"10.8.0.1:80", "10.8.0.2:80", "10.8.0.3:80", "10.8.0.4:80"}
	listed := map[string]bool{}
	for _, d := range dests {
		r.addDest(k, d, weight(int32(1+rng.IntN(3))))
		listed[d] = true
	}
	T := time.Duration(pc.timeout) * time.Second
	minLife := min(T, 60*time.Second)
	maxLife := max(T, 60*time.Second)

	// Persistence model, per client network.
	type netRec struct {
		dest   netip.Addr
		at     ipvs.Time
		broken bool // its real server was deleted since
	}
	nets := map[netip.Addr]*netRec{}
	// Template lifetime model, by entry Seq.
	lastNew := map[uint64]ipvs.Time{} // template -> last new connection through it
	ctl := map[uint64]uint64{}        // connection -> its template
	gone := map[uint64]ipvs.Time{}    // template -> time its last controlled connection was seen gone
	live := map[uint64]bool{}         // entries in the table at the last check
	var open []propConn
	port := uint16(1000)

	snet := func(a netip.Addr) netip.Addr { return netip.PrefixFrom(a, 24).Masked().Addr() }
	tplVirtual := func(dst netip.AddrPort) netip.AddrPort {
		if pc.fwmark {
			return netip.AddrPortFrom(netip.AddrFrom4([4]byte{0, 0, 0, 6}), 0)
		}
		return dst
	}

	check := func(step int, what string) {
		t.Helper()
		conns := r.d.Conns(r.now)
		if n := r.d.ConnCount(); n != len(conns) {
			t.Fatalf("step %d (%s): ConnCount %d, Conns() lists %d", step, what, n, len(conns))
		}
		now := map[uint64]ipvs.ConnInfo{}
		for _, c := range conns {
			now[c.Seq] = c
		}
		// Connections gone since the last check.
		for seq := range live {
			if _, ok := now[seq]; ok {
				continue
			}
			if tseq, ok := ctl[seq]; ok {
				gone[tseq] = r.now
				delete(ctl, seq)
			}
		}
		live = map[uint64]bool{}
		for seq := range now {
			live[seq] = true
		}
		// A template lives while it controls a connection.
		controlled := map[uint64]int{}
		for cseq, tseq := range ctl {
			controlled[tseq]++
			if _, ok := now[tseq]; !ok {
				t.Fatalf("step %d (%s) at %v: template #%d gone while connection %s still controlled by it",
					step, what, r.now.Sub(0), tseq, entry(now[cseq]))
			}
		}
		for seq, c := range now {
			if !c.Template {
				continue
			}
			l, ok := lastNew[seq]
			if !ok {
				continue
			}
			if controlled[seq] > 0 {
				continue
			}
			// Armed at l for its timeout (T, or 60 s once re-armed), the
			// template fires at most one wheel granularity after l +
			// timeout; re-armed when it fired while still controlling
			// the connection gone by g, it fires by g + 60 s + lateness.
			bound := l.Add(maxLife + wheelLateness(maxLife))
			if g, ok := gone[seq]; ok && g.Add(60*time.Second+wheelLateness(60*time.Second)) > bound {
				bound = g.Add(60*time.Second + wheelLateness(60*time.Second))
			}
			if r.now >= bound {
				t.Fatalf("step %d (%s) at %v: template %s outlives its bound %v (last new %v, last controlled gone %v)",
					step, what, r.now.Sub(0), entry(c), bound.Sub(0), l.Sub(0), gone[seq].Sub(0))
			}
		}
		for seq, l := range lastNew {
			if _, ok := now[seq]; !ok && r.now < l.Add(minLife) {
				t.Fatalf("step %d (%s) at %v: template #%d gone %v after its last new connection (< %v)",
					step, what, r.now.Sub(0), seq, r.now.Sub(l), minLife)
			}
			if _, ok := now[seq]; !ok {
				delete(lastNew, seq)
				delete(gone, seq)
			}
		}
		// Counters equal the table.
		type cnt struct{ active, inact, persist int }
		want := map[netip.Addr]*cnt{}
		si, err := r.d.Service(k)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range si.Dests {
			want[d.Addr] = &cnt{}
		}
		for _, c := range conns {
			w := want[c.Dest.Addr()]
			if w == nil {
				continue // bound to a deleted dest
			}
			switch {
			case c.Template:
				w.persist++
			case c.Flags&ipvs.ConnInactive == 0:
				w.active++
			default:
				w.inact++
			}
		}
		for _, d := range si.Dests {
			w := want[d.Addr]
			if d.ActiveConns > 1<<30 || d.InactConns > 1<<30 || d.PersistConns > 1<<30 {
				t.Fatalf("step %d (%s): negative counter on %s: %d/%d/%d", step, what, d.Addr, d.ActiveConns, d.InactConns, d.PersistConns)
			}
			if int(d.ActiveConns) != w.active || int(d.InactConns) != w.inact || int(d.PersistConns) != w.persist {
				t.Fatalf("step %d (%s) at %v: counters of %s %d/%d/%d, table shows %d/%d/%d",
					step, what, r.now.Sub(0), d.Addr, d.ActiveConns, d.InactConns, d.PersistConns, w.active, w.inact, w.persist)
			}
		}
	}

	newest := func(match func(c ipvs.ConnInfo) bool) (ipvs.ConnInfo, bool) {
		var best ipvs.ConnInfo
		found := false
		for _, c := range r.d.Conns(r.now) {
			if match(c) && (!found || c.Seq > best.Seq) {
				best, found = c, true
			}
		}
		return best, found
	}

	// onNew does the bookkeeping of a packet that created a connection and
	// checks the persistence property.
	onNew := func(step int, what string, p *ipvs.Packet, res ipvs.Result) {
		t.Helper()
		src := netip.AddrPortFrom(p.Src, p.SrcPort).String()
		dst := netip.AddrPortFrom(p.Dst, p.DstPort).String()
		got := res.Conn.DestAddrPort()
		n := snet(p.Src)
		if rec := nets[n]; rec != nil && !rec.broken && r.now < rec.at.Add(minLife) && got.Addr() != rec.dest {
			t.Fatalf("step %d at %v: %s went to %s, but its network %s went to %s %v ago (persistence %v)",
				step, r.now.Sub(0), what, got, n, rec.dest, r.now.Sub(rec.at), T)
		}
		nets[n] = &netRec{dest: got.Addr(), at: r.now}
		tpl, ok := newest(func(c ipvs.ConnInfo) bool {
			return c.Template && c.Client.Addr() == n && c.Virtual == tplVirtual(ap(dst)) && c.Virtual.Port() != 65535
		})
		if !ok {
			t.Fatalf("step %d: %s: no template after a persistent connection: %v", step, what, r.table())
		}
		if tpl.Dest.Addr() != got.Addr() {
			t.Fatalf("step %d: %s: connection to %s, its template to %s", step, what, got, tpl.Dest)
		}
		lastNew[tpl.Seq] = r.now
		if res.Conn.Flags()&ipvs.ConnOnePacket == 0 {
			c, ok := newest(func(c ipvs.ConnInfo) bool {
				return !c.Template && c.Client.String() == src && c.Virtual.String() == dst
			})
			if !ok {
				t.Fatalf("step %d: %s: connection not listed", step, what)
			}
			ctl[c.Seq] = tpl.Seq
			live[c.Seq] = true
			open = append(open, propConn{src: src, dst: dst, proto: p.Protocol, dest: got.String()})
		}
	}

	for step := 0; step < pc.events; step++ {
		var what string
		switch x := rng.IntN(100); {
		case x < 35: // a new connection from a random client
			cl := netip.AddrFrom4([4]byte{10, 9, byte(1 + rng.IntN(4)), byte(1 + rng.IntN(4))})
			port++
			proto := ipvs.ProtoTCP
			dport := uint16(80)
			if pc.fwmark && rng.IntN(2) == 0 {
				proto, dport = ipvs.ProtoUDP, 53
			}
			src := netip.AddrPortFrom(cl, port).String()
			dst := fmt.Sprintf("%s:%d", vip, dport)
			var p *ipvs.Packet
			if proto == ipvs.ProtoTCP {
				p = syn(src, dst)
			} else {
				p = udpPkt(src, dst)
			}
			if pc.fwmark {
				p.Mark = 6
			}
			what = "new " + pktString(p)
			res := r.send(p)
			if res.Verdict != ipvs.VerdictForward {
				if res.Reason != ipvs.ReasonNoDest {
					t.Fatalf("step %d: %s: %v/%v", step, what, res.Verdict, res.Reason)
				}
				break
			}
			if !res.New {
				t.Fatalf("step %d: %s: fresh port hit an existing connection", step, what)
			}
			onNew(step, what, p, res)
		case x < 55 && len(open) > 0: // a packet of an existing connection
			oc := open[rng.IntN(len(open))]
			var p *ipvs.Packet
			if oc.proto == ipvs.ProtoUDP {
				if rng.IntN(2) == 0 {
					p = udpPkt(oc.src, oc.dst)
				} else {
					p = udpPkt(oc.dest, oc.src)
					p.Dir = ipvs.DirOut
				}
			} else {
				flags := []uint8{ipvs.TCPAck, ipvs.TCPAck | ipvs.TCPPsh, ipvs.TCPFin | ipvs.TCPAck, ipvs.TCPRst, ipvs.TCPSyn}[rng.IntN(5)]
				if rng.IntN(3) == 0 {
					out := []uint8{ipvs.TCPSyn | ipvs.TCPAck, ipvs.TCPAck, ipvs.TCPFin | ipvs.TCPAck, ipvs.TCPRst}[rng.IntN(4)]
					p = reply(oc.dest, oc.src, out)
				} else {
					p = tcpPkt(oc.src, oc.dst, flags)
				}
			}
			if pc.fwmark && p.Dir == ipvs.DirIn {
				p.Mark = 6
			}
			what = "packet " + pktString(p)
			if res := r.send(p); res.New {
				// The connection had expired: this packet started a new one.
				onNew(step, what, p, res)
			}
		case x < 75: // time passes
			d := []float64{0.25, 1, 2.5, 7, 20, 45, 61, 95, 130}[rng.IntN(9)]
			r.at(r.now.Sub(0).Seconds() + d)
			what = fmt.Sprintf("sleep %vs", d)
		case x < 88: // weight change
			d := dests[rng.IntN(len(dests))]
			if !listed[d] {
				break
			}
			w := int32(rng.IntN(4))
			r.editDest(k, d, weight(w))
			what = fmt.Sprintf("weight %s %d", d, w)
		case x < 94: // delete a dest
			d := dests[rng.IntN(len(dests))]
			if !listed[d] {
				break
			}
			r.delDest(k, d)
			listed[d] = false
			for _, rec := range nets {
				if rec.dest == ap(d).Addr() {
					rec.broken = true
				}
			}
			what = "delete " + d
		default: // re-add a deleted dest
			for _, d := range dests {
				if !listed[d] {
					r.addDest(k, d, weight(int32(1+rng.IntN(3))))
					listed[d] = true
					what = "re-add " + d
					break
				}
			}
		}
		check(step, what)
		if len(open) > 400 {
			open = open[200:]
		}
	}
	// Drain: everything expires, counters go back to zero.
	r.at(r.now.Sub(0).Seconds() + 3600)
	check(pc.events, "drain")
	if n := r.d.ConnCount(); n != 0 {
		t.Fatalf("after an hour idle %d entries remain: %v", n, r.table())
	}
}
