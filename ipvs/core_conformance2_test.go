package ipvs_test

// Conformance tests, continued: counters and states, scheduling rules of
// ip_vs_in_hook / ip_vs_schedule / tcp_conn_schedule, configuration
// changes, thresholds, "no destination" outcomes, Explain, table limit.

import (
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
)

// countersOf snapshots the decision counters.
func countersOf(d *ipvs.Director) [8]uint64 {
	c := d.Counters()
	return [8]uint64{c.TemplateHit.Load(), c.TemplateMiss.Load(), c.TemplateInvalid.Load(), c.Scheduled.Load(),
		c.Rescheduled.Load(), c.NoDest.Load(), c.Dropped.Load(), c.TableFull.Load()}
}

// TestConformanceCounters pins ActiveConn/InActConn/PersistConn after each
// step (ip_vs_conn.c: ip_vs_bind_dest / ip_vs_unbind_dest,
// ip_vs_proto_tcp.c: set_tcp_state, ip_vs_proto_udp.c) and the state
// machine's assurance of templates (ip_vs.h: ip_vs_control_assure_ct).
func TestConformanceCounters(t *testing.T) {
	runRules(t, []rule{
		{"tcp-lifecycle-counters-each-step", func(t *testing.T) {
			// ip_vs_bind_dest (INACTIVE at creation, then SYN_RECV is
			// active), set_tcp_state (active <-> inactive on state
			// change), ip_vs_unbind_dest, ip_vs_conn_expire for the
			// template (60 s re-arms while it controls the connection).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(30))
			r.addDest(k, "10.8.0.1:80")
			c, v, d := "10.9.0.1:1000", "10.0.0.1:80", "10.8.0.1:80"
			conn := func(state string) string { return "TCP " + state + " " + c + " " + v + " " + d }
			steps := []struct {
				p        *ipvs.Packet
				state    string
				timeout  time.Duration
				counters string
				tpl      string
			}{
				{syn(c, v), "SYN_RECV", 60 * time.Second, "1/0/1", "NONE"},
				{reply(d, c, ipvs.TCPSyn|ipvs.TCPAck), "SYN_RECV", 60 * time.Second, "1/0/1", "NONE"},
				{ack(c, v), "ESTABLISHED", 900 * time.Second, "1/0/1", "ASSURED"},
				{tcpPkt(c, v, ipvs.TCPAck|ipvs.TCPPsh), "ESTABLISHED", 900 * time.Second, "1/0/1", "ASSURED"},
				{tcpPkt(c, v, ipvs.TCPFin|ipvs.TCPAck), "CLOSE_WAIT", 60 * time.Second, "0/1/1", "ASSURED"},
				{reply(d, c, ipvs.TCPFin|ipvs.TCPAck), "TIME_WAIT", 120 * time.Second, "0/1/1", "ASSURED"},
				{ack(c, v), "TIME_WAIT", 120 * time.Second, "0/1/1", "ASSURED"},
			}
			for i, s := range steps {
				res := r.send(s.p)
				if res.Verdict != ipvs.VerdictForward {
					t.Fatalf("step %d: %v/%v", i, res.Verdict, res.Reason)
				}
				r.wantExpires(conn(s.state), s.timeout)
				r.wantCounters(k, d+" "+s.counters)
				if _, ok := r.find("TCP " + s.tpl + " 10.9.0.1:0 " + v + " " + d); !ok {
					t.Fatalf("step %d: template not %s: %v", i, s.tpl, r.table())
				}
			}
			// Every step ran at 0. The template's timer (30 s) fires at the
			// end of its wheel bucket (f1) and, controlling the TIME_WAIT
			// connection, is re-armed for 60 s, again at f2; the connection
			// (120 s) goes at gone; the template controls nothing at f3.
			tpl := "TCP ASSURED 10.9.0.1:0 10.0.0.1:80 10.8.0.1:80"
			f1 := fires(0, 30*time.Second)
			f2 := ipvs.WheelFireTime(f1, 60*time.Second)
			f3 := ipvs.WheelFireTime(f2, 60*time.Second)
			gone := fires(0, 120*time.Second)
			if !(f2 < gone && gone < f3) {
				t.Fatalf("wheel times f2 %v gone %v f3 %v: the case needs f2 < gone < f3", f2.Sub(0), gone.Sub(0), f3.Sub(0))
			}
			r.at(30)
			r.wantExpires(tpl, 0)
			r.atTime(f1)
			r.wantExpires(tpl, 60*time.Second)
			r.atTime(f2)
			r.wantExpires(tpl, 60*time.Second)
			r.at(120)
			r.wantExpires(conn("TIME_WAIT"), 0)
			r.wantCounters(k, d+" 0/1/1")
			r.atTime(gone)
			r.wantTable(tpl)
			r.wantCounters(k, d+" 0/0/1")
			r.atTime(f3 - 1)
			r.wantTable(tpl)
			r.atTime(f3)
			r.wantTable()
			r.wantCounters(k, d+" 0/0/0")
		}},
		{"syn-only-template-stays-none", func(t *testing.T) {
			// ip_vs_control_assure_ct is called only on entering
			// ESTABLISHED: SYN and retransmissions leave the template NONE.
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(30))
			r.addDest(k, "10.8.0.1:80")
			r.forwardTo(syn("10.9.0.1:1000", "10.0.0.1:80"), "10.8.0.1:80")
			r.forwardTo(syn("10.9.0.1:1000", "10.0.0.1:80"), "10.8.0.1:80")
			r.wantTable(
				"TCP NONE 10.9.0.1:0 10.0.0.1:80 10.8.0.1:80",
				"TCP SYN_RECV 10.9.0.1:1000 10.0.0.1:80 10.8.0.1:80",
			)
		}},
		{"udp-output-assures-template", func(t *testing.T) {
			// udp_state_transition: an OUTPUT packet assures the
			// controlling template; the connection stays inactive.
			r := newRig(t, nil)
			k := r.addSvc(udpSvc("10.0.0.3:53"), "rr", persist(30))
			r.addDest(k, "10.8.0.1:53")
			r.forwardTo(udpPkt("10.9.0.1:5000", "10.0.0.3:53"), "10.8.0.1:53")
			r.wantTable("UDP NONE 10.9.0.1:0 10.0.0.3:53 10.8.0.1:53", "UDP UDP 10.9.0.1:5000 10.0.0.3:53 10.8.0.1:53")
			out := udpPkt("10.8.0.1:53", "10.9.0.1:5000")
			out.Dir = ipvs.DirOut
			if res := r.send(out); res.Verdict != ipvs.VerdictForward {
				t.Fatalf("UDP reply: %v/%v", res.Verdict, res.Reason)
			}
			r.wantTable("UDP ASSURED 10.9.0.1:0 10.0.0.3:53 10.8.0.1:53", "UDP UDP 10.9.0.1:5000 10.0.0.3:53 10.8.0.1:53")
			r.wantCounters(k, "10.8.0.1:53 0/1/1")
		}},
		{"udp-always-inactive", func(t *testing.T) {
			// ip_vs_proto_udp.c has no active state: UDP connections are
			// counted in InActConn whatever the traffic (wlc: inactive
			// connections weigh 1, transcript 030).
			r := newRig(t, nil)
			k := r.addSvc(udpSvc("10.0.0.3:53"), "wlc")
			r.addDest(k, "10.8.0.1:53")
			r.addDest(k, "10.8.0.2:53")
			r.forwardTo(udpPkt("10.9.0.1:5000", "10.0.0.3:53"), "10.8.0.2:53")
			r.forwardTo(udpPkt("10.9.0.2:5000", "10.0.0.3:53"), "10.8.0.1:53")
			r.forwardTo(udpPkt("10.9.0.1:5000", "10.0.0.3:53"), "10.8.0.2:53")
			out := udpPkt("10.8.0.2:53", "10.9.0.1:5000")
			out.Dir = ipvs.DirOut
			r.send(out)
			r.wantCounters(k, "10.8.0.2:53 0/1/0, 10.8.0.1:53 0/1/0")
			r.wantExpires("UDP UDP 10.9.0.1:5000 10.0.0.3:53 10.8.0.2:53", 300*time.Second)
		}},
		{"dr-connection-input-only", func(t *testing.T) {
			// __ip_vs_update_dest sets NOOUTPUT for non-NAT dests;
			// set_tcp_state uses the INPUT_ONLY table: FIN in ESTABLISHED
			// goes to FIN_WAIT (not CLOSE_WAIT) and is inactive.
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
			r.addDest(k, "10.8.0.1:80", method(ipvs.FwdRoute))
			r.forwardTo(syn("10.9.0.1:1000", "10.0.0.1:80"), "10.8.0.1:80")
			r.forwardTo(ack("10.9.0.1:1000", "10.0.0.1:80"), "10.8.0.1:80")
			r.wantCounters(k, "10.8.0.1:80 1/0/0")
			r.forwardTo(tcpPkt("10.9.0.1:1000", "10.0.0.1:80", ipvs.TCPFin|ipvs.TCPAck), "10.8.0.1:80")
			r.wantExpires("TCP FIN_WAIT 10.9.0.1:1000 10.0.0.1:80 10.8.0.1:80", 120*time.Second)
			r.wantCounters(k, "10.8.0.1:80 0/1/0")
		}},
	})
}

// TestConformanceScheduling pins which packets schedule and how
// (ip_vs_core.c: ip_vs_in_hook, ip_vs_schedule; tcp_conn_schedule).
func TestConformanceScheduling(t *testing.T) {
	runRules(t, []rule{
		{"one-packet-non-persistent", func(t *testing.T) {
			// ip_vs_schedule: ONE_PACKET for UDP on an ops service; the
			// connection is never hashed and is freed after its packet
			// (ip_vs_conn_put); every datagram is scheduled; Conns counts
			// them (ip_vs_conn_stats) (transcript 066).
			r := newRig(t, nil)
			k := r.addSvc(udpSvc("10.0.0.2:54"), "rr", onePacket)
			r.addDest(k, "10.8.0.6:54")
			r.addDest(k, "10.8.0.7:54")
			for _, want := range []string{"10.8.0.7:54", "10.8.0.6:54", "10.8.0.7:54"} {
				res := r.forwardTo(udpPkt("10.9.4.1:5000", "10.0.0.2:54"), want)
				if !res.New {
					t.Fatal("one-packet datagram not reported as new")
				}
			}
			r.wantTable()
			if n := r.d.ConnCount(); n != 0 {
				t.Fatalf("ConnCount %d, want 0", n)
			}
			r.wantCounters(k, "10.8.0.7:54 0/0/0, 10.8.0.6:54 0/0/0")
			r.at(2)
			if st := r.svcStats(k); st.Conns != 3 || st.InPkts != 3 {
				t.Fatalf("stats %+v, want Conns 3 InPkts 3", st)
			}
		}},
		{"one-packet-persistent", func(t *testing.T) {
			// ip_vs_sched_persist with ops: the template is normal
			// (visible, timer; "ipvs: do not create invisible templates"),
			// the per-packet connections are invisible; the template's
			// in_pkts counts the packets (ip_vs_in_hook) (transcript 067).
			r := newRig(t, nil)
			k := r.addSvc(udpSvc("10.0.0.2:53"), "rr", persist(40), onePacket)
			r.addDest(k, "10.8.0.6:53")
			r.addDest(k, "10.8.0.7:53")
			r.forwardTo(udpPkt("10.9.4.1:5000", "10.0.0.2:53"), "10.8.0.7:53")
			r.forwardTo(udpPkt("10.9.4.1:5001", "10.0.0.2:53"), "10.8.0.7:53")
			r.forwardTo(udpPkt("10.9.4.2:5000", "10.0.0.2:53"), "10.8.0.6:53")
			r.wantTable("UDP NONE 10.9.4.1:0 10.0.0.2:53 10.8.0.7:53", "UDP NONE 10.9.4.2:0 10.0.0.2:53 10.8.0.6:53")
			r.wantCounters(k, "10.8.0.7:53 0/0/1, 10.8.0.6:53 0/0/1")
			if c, _ := r.find("UDP NONE 10.9.4.1:0 10.0.0.2:53 10.8.0.7:53"); c.InPkts != 2 {
				t.Fatalf("template in_pkts %d, want 2", c.InPkts)
			}
			r.at(2)
			if st := r.svcStats(k); st.Conns != 3 {
				t.Fatalf("stats %+v, want Conns 3", st)
			}
		}},
		{"one-packet-only-udp", func(t *testing.T) {
			// ip_vs_schedule: ONE_PACKET only when the packet is UDP; TCP
			// under an ops fwmark service gets a normal connection.
			r := newRig(t, nil)
			k := r.addSvc(fwmSvc(9), "rr", onePacket)
			r.addDest(k, "10.8.0.1:0")
			r.forwardTo(marked(syn("10.9.0.1:1000", "10.0.0.1:80"), 9), "10.8.0.1:80")
			r.forwardTo(marked(udpPkt("10.9.0.1:1000", "10.0.0.1:53"), 9), "10.8.0.1:53")
			r.wantTable("TCP SYN_RECV 10.9.0.1:1000 10.0.0.1:80 10.8.0.1:80")
		}},
		{"client-source-port-20-never-scheduled", func(t *testing.T) {
			// ip_vs_schedule: cport == FTPDATA -> not scheduled (ignored=1,
			// accepted), nothing counted (spec 8.43).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
			r.addDest(k, "10.8.0.1:80")
			p := r.addSvc(tcpSvc("10.0.0.1:81"), "rr", persist(60))
			r.addDest(p, "10.8.0.1:81")
			r.outcome(syn("10.9.1.1:20", "10.0.0.1:80"), ipvs.VerdictAccept, ipvs.ReasonFTPData)
			r.outcome(syn("10.9.1.1:20", "10.0.0.1:81"), ipvs.VerdictAccept, ipvs.ReasonFTPData)
			r.outcome(udpPkt("10.9.1.1:20", "10.0.0.1:80"), ipvs.VerdictAccept, ipvs.ReasonNoService)
			r.wantTable()
			r.at(2)
			if st := r.svcStats(k); st.Conns != 0 || st.InPkts != 0 {
				t.Fatalf("stats %+v, want nothing counted", st)
			}
			r.forwardTo(syn("10.9.1.1:21", "10.0.0.1:80"), "10.8.0.1:80")
		}},
		{"non-syn-tcp-not-scheduled", func(t *testing.T) {
			// tcp_conn_schedule: RST -> accept; not SYN and sloppy_tcp=0
			// -> accept, no entry (spec 8.44).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
			r.addDest(k, "10.8.0.1:80")
			for _, f := range []uint8{ipvs.TCPAck, ipvs.TCPFin | ipvs.TCPAck, ipvs.TCPRst, ipvs.TCPSyn | ipvs.TCPRst, 0} {
				r.outcome(tcpPkt("10.9.0.1:1000", "10.0.0.1:80", f), ipvs.VerdictAccept, ipvs.ReasonNotSyn)
			}
			r.wantTable()
			// "No !th->ack check to allow scheduling on SYN+ACK for Active FTP".
			r.forwardTo(tcpPkt("10.9.0.2:1000", "10.0.0.1:80", ipvs.TCPSyn|ipvs.TCPAck), "10.8.0.1:80")
			r.wantTable("TCP SYN_RECV 10.9.0.2:1000 10.0.0.1:80 10.8.0.1:80")
		}},
		{"sloppy-tcp-schedules-any-non-rst", func(t *testing.T) {
			// tcp_conn_schedule with sloppy_tcp=1: any TCP packet but RST
			// schedules; an ACK from NONE enters ESTABLISHED (active).
			r := newRig(t, func(s *ipvs.Settings) { s.SloppyTCP = true })
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
			r.addDest(k, "10.8.0.1:80")
			r.outcome(tcpPkt("10.9.0.1:1000", "10.0.0.1:80", ipvs.TCPRst|ipvs.TCPAck), ipvs.VerdictAccept, ipvs.ReasonNotSyn)
			res := r.forwardTo(ack("10.9.0.1:1000", "10.0.0.1:80"), "10.8.0.1:80")
			if !res.New {
				t.Fatal("sloppy ACK did not create a connection")
			}
			r.wantTable("TCP ESTABLISHED 10.9.0.1:1000 10.0.0.1:80 10.8.0.1:80")
			r.wantCounters(k, "10.8.0.1:80 1/0/0")
		}},
		{"retransmitted-syn-same-entry", func(t *testing.T) {
			// ip_vs_in_hook: a SYN matching an entry in SYN_RECV is not a
			// new connection; one entry, one Conns, rr advanced once
			// (spec 8.45).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.3:7000"), "rr")
			r.addDest(k, "10.8.0.1:7000")
			r.addDest(k, "10.8.0.2:7000")
			r.forwardTo(syn("10.9.7.1:7001", "10.0.0.3:7000"), "10.8.0.2:7000")
			r.forwardTo(syn("10.9.7.1:7001", "10.0.0.3:7000"), "10.8.0.2:7000")
			r.forwardTo(syn("10.9.7.2:7001", "10.0.0.3:7000"), "10.8.0.1:7000")
			r.at(2)
			if st := r.svcStats(k); st.Conns != 2 || st.InPkts != 3 {
				t.Fatalf("stats %+v, want Conns 2 InPkts 3", st)
			}
		}},
		{"conn-reuse-mode-time-wait-rescheduled", func(t *testing.T) {
			// ip_vs_in_hook + is_new_conn_expected: a SYN on a TIME_WAIT
			// entry (conn_reuse_mode=1) expires it now and schedules anew
			// (spec 8.46).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
			r.addDest(k, "10.8.0.1:80")
			r.addDest(k, "10.8.0.2:80")
			r.open("10.9.1.1:1000", "10.0.0.1:80", "10.8.0.2:80")
			r.send(tcpPkt("10.9.1.1:1000", "10.0.0.1:80", ipvs.TCPFin|ipvs.TCPAck))
			r.send(reply("10.8.0.2:80", "10.9.1.1:1000", ipvs.TCPFin|ipvs.TCPAck))
			r.send(ack("10.9.1.1:1000", "10.0.0.1:80"))
			r.wantTable("TCP TIME_WAIT 10.9.1.1:1000 10.0.0.1:80 10.8.0.2:80")
			r.at(5)
			res := r.forwardTo(syn("10.9.1.1:1000", "10.0.0.1:80"), "10.8.0.1:80")
			if !res.New {
				t.Fatal("reused port not reported as a new connection")
			}
			// ip_vs_conn_expire_now moved the old entry's timer to the
			// current jiffy: it is listed with 0 left until the next tick.
			r.wantTable(
				"TCP SYN_RECV 10.9.1.1:1000 10.0.0.1:80 10.8.0.1:80",
				"TCP TIME_WAIT 10.9.1.1:1000 10.0.0.1:80 10.8.0.2:80",
			)
			r.wantExpires("TCP TIME_WAIT 10.9.1.1:1000 10.0.0.1:80 10.8.0.2:80", 0)
			r.wantCounters(k, "10.8.0.2:80 0/1/0, 10.8.0.1:80 1/0/0")
			r.atTime(nextTick(r.now))
			r.wantTable("TCP SYN_RECV 10.9.1.1:1000 10.0.0.1:80 10.8.0.1:80")
			r.wantCounters(k, "10.8.0.2:80 0/0/0, 10.8.0.1:80 1/0/0")
			if n := r.d.Counters().Rescheduled.Load(); n != 1 {
				t.Fatalf("Rescheduled %d, want 1", n)
			}
		}},
		{"conn-reuse-mode-close-rescheduled", func(t *testing.T) {
			// is_new_conn_expected: CLOSE (real server RST) also expects
			// a new connection.
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
			r.addDest(k, "10.8.0.1:80")
			r.addDest(k, "10.8.0.2:80")
			r.forwardTo(syn("10.9.1.1:1000", "10.0.0.1:80"), "10.8.0.2:80")
			r.send(reply("10.8.0.2:80", "10.9.1.1:1000", ipvs.TCPRst))
			r.wantTable("TCP CLOSE 10.9.1.1:1000 10.0.0.1:80 10.8.0.2:80")
			r.forwardTo(syn("10.9.1.1:1000", "10.0.0.1:80"), "10.8.0.1:80")
			// The CLOSE entry fires at the next tick (ip_vs_conn_expire_now).
			r.wantExpires("TCP CLOSE 10.9.1.1:1000 10.0.0.1:80 10.8.0.2:80", 0)
			r.atTime(nextTick(r.now))
			r.wantTable("TCP SYN_RECV 10.9.1.1:1000 10.0.0.1:80 10.8.0.1:80")
			r.wantCounters(k, "10.8.0.2:80 0/0/0, 10.8.0.1:80 1/0/0")
		}},
		{"conn-reuse-mode-0-reuses", func(t *testing.T) {
			// ip_vs_in_hook: conn_reuse_mode=0 never reschedules: the SYN
			// moves the TIME_WAIT entry to SYN_RECV (tcp_states).
			r := newRig(t, func(s *ipvs.Settings) { s.ConnReuseMode = 0 })
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
			r.addDest(k, "10.8.0.1:80")
			r.addDest(k, "10.8.0.2:80")
			r.open("10.9.1.1:1000", "10.0.0.1:80", "10.8.0.2:80")
			r.send(tcpPkt("10.9.1.1:1000", "10.0.0.1:80", ipvs.TCPFin|ipvs.TCPAck))
			r.send(reply("10.8.0.2:80", "10.9.1.1:1000", ipvs.TCPFin|ipvs.TCPAck))
			res := r.forwardTo(syn("10.9.1.1:1000", "10.0.0.1:80"), "10.8.0.2:80")
			if res.New {
				t.Fatal("conn_reuse_mode=0 rescheduled")
			}
			r.wantTable("TCP SYN_RECV 10.9.1.1:1000 10.0.0.1:80 10.8.0.2:80")
			r.wantCounters(k, "10.8.0.2:80 1/0/0, 10.8.0.1:80 0/0/0")
		}},
		{"conn-reuse-mode-bit2-fin-wait-dr", func(t *testing.T) {
			// is_new_conn_expected: FIN_WAIT with NOOUTPUT (DR) only with
			// conn_reuse_mode bit 2.
			for _, mode := range []int{1, 3} {
				r := newRig(t, func(s *ipvs.Settings) { s.ConnReuseMode = mode })
				k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
				r.addDest(k, "10.8.0.1:80", method(ipvs.FwdRoute))
				r.addDest(k, "10.8.0.2:80", method(ipvs.FwdRoute))
				r.forwardTo(syn("10.9.1.1:1000", "10.0.0.1:80"), "10.8.0.2:80")
				r.send(ack("10.9.1.1:1000", "10.0.0.1:80"))
				r.send(tcpPkt("10.9.1.1:1000", "10.0.0.1:80", ipvs.TCPFin|ipvs.TCPAck))
				r.wantTable("TCP FIN_WAIT 10.9.1.1:1000 10.0.0.1:80 10.8.0.2:80")
				want := "10.8.0.2:80"
				if mode == 3 {
					want = "10.8.0.1:80"
				}
				r.forwardTo(syn("10.9.1.1:1000", "10.0.0.1:80"), want)
			}
		}},
		{"conn-reuse-controlled-never-rescheduled", func(t *testing.T) {
			// is_new_conn_expected: a connection controlled by a template
			// is never rescheduled this way.
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(300))
			r.addDest(k, "10.8.0.1:80")
			r.addDest(k, "10.8.0.2:80")
			r.open("10.9.1.1:1000", "10.0.0.1:80", "10.8.0.2:80")
			r.send(tcpPkt("10.9.1.1:1000", "10.0.0.1:80", ipvs.TCPFin|ipvs.TCPAck))
			r.send(reply("10.8.0.2:80", "10.9.1.1:1000", ipvs.TCPFin|ipvs.TCPAck))
			res := r.forwardTo(syn("10.9.1.1:1000", "10.0.0.1:80"), "10.8.0.2:80")
			if res.New {
				t.Fatal("controlled connection rescheduled")
			}
			r.wantTable("TCP ASSURED 10.9.1.1:0 10.0.0.1:80 10.8.0.2:80", "TCP SYN_RECV 10.9.1.1:1000 10.0.0.1:80 10.8.0.2:80")
		}},
		{"expire-nodest-conn-weight0-syn-rescheduled", func(t *testing.T) {
			// ip_vs_in_hook: expire_nodest_conn=1 and a SYN on an entry
			// whose dest has weight 0 -> expire it and schedule anew; a
			// persistent client still follows its (valid) template
			// (transcript 057).
			r := newRig(t, func(s *ipvs.Settings) { s.ExpireNodestConn = true })
			a := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
			r.addDest(a, "10.8.0.1:80")
			r.addDest(a, "10.8.0.2:80")
			p := r.addSvc(tcpSvc("10.0.0.2:80"), "rr", persist(60))
			r.addDest(p, "10.8.0.3:80")
			r.addDest(p, "10.8.0.4:80")
			r.forwardTo(syn("10.9.1.1:1000", "10.0.0.1:80"), "10.8.0.2:80")
			r.forwardTo(syn("10.9.1.1:1000", "10.0.0.2:80"), "10.8.0.4:80")
			r.editDest(a, "10.8.0.2:80", weight(0))
			r.editDest(p, "10.8.0.4:80", weight(0))
			r.forwardTo(syn("10.9.1.1:1000", "10.0.0.1:80"), "10.8.0.1:80")
			r.forwardTo(syn("10.9.1.1:1000", "10.0.0.2:80"), "10.8.0.4:80")
			r.at(2)
			r.wantTable(
				"TCP NONE 10.9.1.1:0 10.0.0.2:80 10.8.0.4:80",
				"TCP SYN_RECV 10.9.1.1:1000 10.0.0.1:80 10.8.0.1:80",
				"TCP SYN_RECV 10.9.1.1:1000 10.0.0.2:80 10.8.0.4:80",
			)
			r.wantCounters(a, "10.8.0.2:80 0/0/0, 10.8.0.1:80 1/0/0")
			r.wantCounters(p, "10.8.0.4:80 1/0/1, 10.8.0.3:80 0/0/0")
		}},
		{"weight0-syn-default-keeps-entry", func(t *testing.T) {
			// ip_vs_in_hook with the default sysctls: a SYN on an entry of
			// a quiesced dest keeps using it (transcript 058).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
			r.addDest(k, "10.8.0.1:80")
			r.addDest(k, "10.8.0.2:80")
			r.forwardTo(syn("10.9.1.1:1000", "10.0.0.1:80"), "10.8.0.2:80")
			r.editDest(k, "10.8.0.2:80", weight(0))
			r.forwardTo(syn("10.9.1.1:1000", "10.0.0.1:80"), "10.8.0.2:80")
			r.forwardTo(syn("10.9.1.2:1000", "10.0.0.1:80"), "10.8.0.1:80")
			r.wantCounters(k, "10.8.0.2:80 1/0/0, 10.8.0.1:80 1/0/0")
		}},
		{"non-persistent-service-other-port-reject", func(t *testing.T) {
			// ip_vs_schedule: a non-persistent address service reached on
			// a port that is not its own (here: a port-zero service made
			// through the API) creates no connection; ip_vs_leave answers
			// ICMP port unreachable (spec 8.59).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.2:0"), "rr")
			r.addDest(k, "10.8.0.1:80")
			r.outcome(syn("10.9.0.1:1000", "10.0.0.2:80"), ipvs.VerdictReject, ipvs.ReasonNoDest)
			r.wantTable()
			r.wantCounters(k, "10.8.0.1:80 0/0/0")
		}},
		{"non-persistent-ftp-service-passes-other-ports", func(t *testing.T) {
			// ip_vs_schedule port check + ip_vs_leave FTP rule: no
			// connection, the packet is accepted (spec 8.8, transcript 007).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:21"), "rr")
			r.addDest(k, "10.8.0.2:21")
			r.outcome(syn("10.9.0.1:1000", "10.0.0.1:2121"), ipvs.VerdictAccept, ipvs.ReasonFTPPass)
			r.wantTable()
			r.forwardTo(syn("10.9.0.1:1001", "10.0.0.1:21"), "10.8.0.2:21")
		}},
		{"overlapping-services-lookup-order", func(t *testing.T) {
			// ip_vs_service_find: fwmark first, then exact port, then the
			// port-zero service (spec 8.57, transcript 011).
			r := newRig(t, nil)
			a := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
			r.addDest(a, "10.8.0.1:80")
			z := r.addSvc(tcpSvc("10.0.0.1:0"), "rr", persist(60))
			r.addDest(z, "10.8.0.2:0")
			f := r.addSvc(fwmSvc(7), "rr", persist(60))
			r.addDest(f, "10.8.0.3:0")
			r.forwardTo(syn("10.9.0.1:1000", "10.0.0.1:80"), "10.8.0.1:80")
			r.forwardTo(syn("10.9.0.1:1001", "10.0.0.1:443"), "10.8.0.2:443")
			r.forwardTo(marked(syn("10.9.0.1:1002", "10.0.0.1:80"), 7), "10.8.0.3:80")
			r.forwardTo(marked(syn("10.9.0.1:1003", "10.0.0.1:80"), 8), "10.8.0.1:80")
		}},
	})
}

// TestConformanceDestChanges pins what deleting, quiescing, re-adding and
// overloading a real server does (ip_vs_ctl.c: ip_vs_del_dest,
// ip_vs_trash_get_dest, __ip_vs_dest_update_overload; ip_vs_conn.c:
// ip_vs_expire_nodest_conn_flush).
func TestConformanceDestChanges(t *testing.T) {
	runRules(t, []rule{
		{"expire-nodest-conn-after-delete", func(t *testing.T) {
			// __ip_vs_del_dest -> ip_vs_expire_nodest_conn_flush: with
			// expire_nodest_conn=1 the connections of the deleted dest go
			// (transcript 054).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:91"), "rr")
			r.addDest(k, "10.8.0.10:91")
			r.addDest(k, "10.8.0.11:91")
			r.forwardTo(syn("10.9.6.1:6000", "10.0.0.1:91"), "10.8.0.11:91")
			r.forwardTo(syn("10.9.6.2:6000", "10.0.0.1:91"), "10.8.0.10:91")
			r.settings(func(s *ipvs.Settings) { s.ExpireNodestConn = true })
			r.delDest(k, "10.8.0.11:91")
			r.at(2)
			r.wantTable("TCP SYN_RECV 10.9.6.2:6000 10.0.0.1:91 10.8.0.10:91")
			r.wantCounters(k, "10.8.0.10:91 1/0/0")
			r.forwardTo(syn("10.9.6.1:6000", "10.0.0.1:91"), "10.8.0.10:91")
		}},
		{"expire-nodest-conn-after-delete-persistent", func(t *testing.T) {
			// ip_vs_expire_nodest_conn_flush also deletes the controlling
			// template once it controls nothing (transcript 055).
			r := newRig(t, func(s *ipvs.Settings) { s.ExpireNodestConn = true })
			k := r.addSvc(tcpSvc("10.0.0.1:92"), "rr", persist(60))
			r.addDest(k, "10.8.0.10:92")
			r.addDest(k, "10.8.0.11:92")
			r.forwardTo(syn("10.9.6.1:6000", "10.0.0.1:92"), "10.8.0.11:92")
			r.forwardTo(syn("10.9.6.1:6001", "10.0.0.1:92"), "10.8.0.11:92")
			r.forwardTo(syn("10.9.6.2:6000", "10.0.0.1:92"), "10.8.0.10:92")
			r.at(1)
			r.delDest(k, "10.8.0.11:92")
			r.at(2)
			r.wantTable("TCP NONE 10.9.6.2:0 10.0.0.1:92 10.8.0.10:92", "TCP SYN_RECV 10.9.6.2:6000 10.0.0.1:92 10.8.0.10:92")
			r.forwardTo(syn("10.9.6.1:6002", "10.0.0.1:92"), "10.8.0.10:92")
			r.wantCounters(k, "10.8.0.10:92 2/0/2")
		}},
		{"expire-nodest-conn-assured-and-idle-templates", func(t *testing.T) {
			// ip_vs_expire_nodest_conn_flush deletes a controller that
			// controls nothing any more even when ASSURED, and idle
			// templates whose own dest is unavailable (spec 2.5).
			r := newRig(t, func(s *ipvs.Settings) { s.ExpireNodestConn = true })
			if err := r.d.SetTimeouts(ipvs.Timeouts{UDP: 5 * time.Second}); err != nil {
				t.Fatal(err)
			}
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(300))
			r.addDest(k, "10.8.0.1:80")
			u := r.addSvc(udpSvc("10.0.0.1:53"), "rr", persist(300))
			r.addDest(u, "10.8.0.2:53")
			r.open("10.9.0.1:1000", "10.0.0.1:80", "10.8.0.1:80")
			r.forwardTo(udpPkt("10.9.0.1:1000", "10.0.0.1:53"), "10.8.0.2:53")
			r.at(10) // the UDP connection is gone, its template idles
			r.wantTable(
				"TCP ASSURED 10.9.0.1:0 10.0.0.1:80 10.8.0.1:80",
				"TCP ESTABLISHED 10.9.0.1:1000 10.0.0.1:80 10.8.0.1:80",
				"UDP NONE 10.9.0.1:0 10.0.0.1:53 10.8.0.2:53",
			)
			r.delDest(k, "10.8.0.1:80")
			r.delDest(u, "10.8.0.2:53")
			r.at(11)
			r.wantTable()
		}},
		{"expire-nodest-conn-on-packet", func(t *testing.T) {
			// ip_vs_in_hook "Check the server status": a packet of an entry
			// whose dest is unavailable is dropped by default; with
			// expire_nodest_conn=1 the entry is expired and the packet
			// goes on to scheduling (a non-SYN is then not scheduled).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
			r.addDest(k, "10.8.0.1:80")
			r.addDest(k, "10.8.0.2:80")
			r.forwardTo(syn("10.9.0.1:1000", "10.0.0.1:80"), "10.8.0.2:80")
			r.forwardTo(syn("10.9.0.2:1000", "10.0.0.1:80"), "10.8.0.1:80")
			r.delDest(k, "10.8.0.2:80")
			r.outcome(ack("10.9.0.1:1000", "10.0.0.1:80"), ipvs.VerdictDrop, ipvs.ReasonDestUnavailable)
			r.settings(func(s *ipvs.Settings) { s.ExpireNodestConn = true })
			r.at(1)
			r.outcome(ack("10.9.0.1:1000", "10.0.0.1:80"), ipvs.VerdictAccept, ipvs.ReasonNotSyn)
			// ip_vs_conn_expire_now: the entry stays listed, with 0 left,
			// until its timer fires at the next tick.
			r.wantExpires("TCP SYN_RECV 10.9.0.1:1000 10.0.0.1:80 10.8.0.2:80", 0)
			r.atTime(nextTick(r.now))
			r.wantTable("TCP SYN_RECV 10.9.0.2:1000 10.0.0.1:80 10.8.0.1:80")
			r.forwardTo(syn("10.9.0.1:1000", "10.0.0.1:80"), "10.8.0.1:80")
		}},
		{"dest-revived-from-trash-with-counters", func(t *testing.T) {
			// ip_vs_add_dest -> ip_vs_trash_get_dest: the deleted dest is
			// revived with its counters, statistics and connections; in
			// between, its packets were dropped and not counted
			// (spec 8.17, transcript 056).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:83"), "rr")
			r.addDest(k, "10.8.0.10:83")
			r.addDest(k, "10.8.0.11:83")
			r.forwardTo(syn("10.9.3.1:3001", "10.0.0.1:83"), "10.8.0.11:83")
			r.delDest(k, "10.8.0.11:83")
			r.wantCounters(k, "10.8.0.10:83 0/0/0")
			r.outcome(syn("10.9.3.1:3001", "10.0.0.1:83"), ipvs.VerdictDrop, ipvs.ReasonDestUnavailable)
			r.addDest(k, "10.8.0.11:83", weight(2))
			r.wantCounters(k, "10.8.0.11:83 1/0/0, 10.8.0.10:83 0/0/0")
			if res := r.forwardTo(syn("10.9.3.1:3001", "10.0.0.1:83"), "10.8.0.11:83"); res.New {
				t.Fatal("revived dest: existing connection not reused")
			}
			r.forwardTo(syn("10.9.3.2:3001", "10.0.0.1:83"), "10.8.0.11:83")
			r.wantCounters(k, "10.8.0.11:83 2/0/0, 10.8.0.10:83 0/0/0")
			r.at(2)
			si, _ := r.d.Service(k)
			if st := si.Dests[0].Stats; st.Conns != 2 || st.InPkts != 3 {
				t.Fatalf("revived dest stats %+v, want Conns 2 InPkts 3", st)
			}
			if si.Stats.Conns != 2 || si.Stats.InPkts != 3 {
				t.Fatalf("service stats %+v, want Conns 2 InPkts 3", si.Stats)
			}
		}},
		{"upper-threshold", func(t *testing.T) {
			// ip_vs_bind_dest: totalconns reaching u_threshold sets
			// OVERLOAD; rr skips it (transcript 061).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
			r.addDest(k, "10.8.0.10:80", thresholds(1, 0))
			r.addDest(k, "10.8.0.11:80")
			for i, want := range []string{"10.8.0.11:80", "10.8.0.10:80", "10.8.0.11:80", "10.8.0.11:80"} {
				r.forwardTo(syn("10.9.0."+string(rune('1'+i))+":40001", "10.0.0.1:80"), want)
			}
			r.wantCounters(k, "10.8.0.11:80 3/0/0, 10.8.0.10:80 1/0/0 O")
		}},
		{"lower-threshold-hysteresis", func(t *testing.T) {
			// ip_vs_unbind_dest -> __ip_vs_dest_update_overload(-1): the
			// flag set at u=4 clears when totalconns drops from l to l-1:
			// -x 4 -y 2 at 2 -> 1; -x 4 alone (l = 3) at 3 -> 2
			// (spec 8.38, transcript 063).
			for _, tc := range []struct {
				l       uint32
				clearAt float64 // time the flag must be clear
			}{{2, 12.5}, {0, 11.5}} {
				r := newRig(t, nil)
				if err := r.d.SetTimeouts(ipvs.Timeouts{UDP: 10 * time.Second}); err != nil {
					t.Fatal(err)
				}
				k := r.addSvc(udpSvc("10.0.0.2:53"), "rr")
				r.addDest(k, "10.8.0.10:53", thresholds(4, tc.l))
				for i := 0; i < 4; i++ {
					r.at(float64(i))
					r.forwardTo(udpPkt("10.9.7."+string(rune('1'+i))+":5000", "10.0.0.2:53"), "10.8.0.10:53")
				}
				r.wantCounters(k, "10.8.0.10:53 0/4/0 O")
				r.outcome(udpPkt("10.9.7.9:5000", "10.0.0.2:53"), ipvs.VerdictReject, ipvs.ReasonNoDest)
				for _, at := range []float64{10.5, 11.5, 12.5} {
					r.at(at)
					res := r.send(udpPkt("10.9.8.1:5000", "10.0.0.2:53"))
					wantFwd := at >= tc.clearAt
					if (res.Verdict == ipvs.VerdictForward) != wantFwd {
						t.Fatalf("l=%d at %v: verdict %v (%s), want forward=%v", tc.l, at, res.Verdict, r.counters(k), wantFwd)
					}
					if wantFwd {
						break
					}
				}
			}
		}},
		{"lower-threshold-several-expiries-at-once", func(t *testing.T) {
			// The same rule when one tick expires several connections
			// (Advance applies the dests' counts once): 4 -> 2 does not
			// pass l=2 -> 1, so the flag stays; 2 -> 0 does.
			r := newRig(t, nil)
			if err := r.d.SetTimeouts(ipvs.Timeouts{UDP: 10 * time.Second}); err != nil {
				t.Fatal(err)
			}
			k := r.addSvc(udpSvc("10.0.0.2:53"), "rr")
			r.addDest(k, "10.8.0.10:53", thresholds(4, 2))
			for i := 0; i < 4; i++ {
				r.at(float64(i / 2 * 5)) // two at 0 s, two at 5 s
				r.forwardTo(udpPkt("10.9.7."+string(rune('1'+i))+":5000", "10.0.0.2:53"), "10.8.0.10:53")
			}
			r.wantCounters(k, "10.8.0.10:53 0/4/0 O")
			r.at(12)
			r.wantCounters(k, "10.8.0.10:53 0/2/0 O")
			r.outcome(udpPkt("10.9.8.1:5000", "10.0.0.2:53"), ipvs.VerdictReject, ipvs.ReasonNoDest)
			r.at(17)
			r.wantCounters(k, "10.8.0.10:53 0/0/0")
			r.forwardTo(udpPkt("10.9.8.1:5000", "10.0.0.2:53"), "10.8.0.10:53")
		}},
		{"thresholds-edit-reevaluates", func(t *testing.T) {
			// __ip_vs_update_dest -> __ip_vs_dest_update_overload(0) when u
			// or l change: set if c >= u, keep if c >= l, else clear
			// (transcript 064).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
			r.addDest(k, "10.8.0.1:80", thresholds(2, 0))
			r.forwardTo(syn("10.9.0.1:40001", "10.0.0.1:80"), "10.8.0.1:80")
			r.forwardTo(syn("10.9.0.2:40001", "10.0.0.1:80"), "10.8.0.1:80")
			r.wantCounters(k, "10.8.0.1:80 2/0/0 O")
			r.outcome(syn("10.9.0.3:40001", "10.0.0.1:80"), ipvs.VerdictReject, ipvs.ReasonNoDest)
			r.editDest(k, "10.8.0.1:80", thresholds(5, 0)) // c=2 < l=4: clear
			r.wantCounters(k, "10.8.0.1:80 2/0/0")
			r.forwardTo(syn("10.9.0.4:40001", "10.0.0.1:80"), "10.8.0.1:80")
			r.editDest(k, "10.8.0.1:80", thresholds(3, 1)) // c=3 >= u=3: set
			r.wantCounters(k, "10.8.0.1:80 3/0/0 O")
			r.outcome(syn("10.9.0.5:40001", "10.0.0.1:80"), ipvs.VerdictReject, ipvs.ReasonNoDest)
			r.editDest(k, "10.8.0.1:80", thresholds(0, 0)) // u=0: clear
			r.wantCounters(k, "10.8.0.1:80 3/0/0")
			r.forwardTo(syn("10.9.0.6:40001", "10.0.0.1:80"), "10.8.0.1:80")
		}},
	})
}

// TestConformanceNoDestination pins every outcome of a packet that finds a
// service but no real server (ip_vs_schedule / ip_vs_sched_persist return
// ignored=0 -> ip_vs_core.c: ip_vs_leave; drops with ignored=-1).
func TestConformanceNoDestination(t *testing.T) {
	type setup func(r *rig)
	cases := []struct {
		name    string
		setup   setup
		cfg     *ipvs.Config
		p       *ipvs.Packet
		verdict ipvs.Verdict
		reason  ipvs.Reason
	}{
		// ip_vs_leave: ICMP port unreachable for TCP too (no RST).
		{"no-dests", func(r *rig) { r.addSvc(tcpSvc("10.0.0.1:80"), "rr") }, nil,
			syn("10.9.0.1:1", "10.0.0.1:80"), ipvs.VerdictReject, ipvs.ReasonNoDest},
		// ip_vs_rr_schedule skips weight 0 (spec 8.58).
		{"all-weight-0-rr", func(r *rig) {
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
			r.addDest(k, "10.8.0.1:80", weight(0))
			r.addDest(k, "10.8.0.2:80", weight(0))
		}, nil, syn("10.9.0.1:1", "10.0.0.1:80"), ipvs.VerdictReject, ipvs.ReasonNoDest},
		// ip_vs_wrr_schedule: mw == 0 fails (transcript 060).
		{"all-weight-0-wrr", func(r *rig) {
			k := r.addSvc(tcpSvc("10.0.0.2:80"), "wrr")
			r.addDest(k, "10.8.0.3:80", weight(0))
			r.addDest(k, "10.8.0.4:80", weight(0))
		}, nil, syn("10.9.0.1:1", "10.0.0.2:80"), ipvs.VerdictReject, ipvs.ReasonNoDest},
		// ip_vs_sched_persist: no template and no dest -> ignored=0.
		{"persistent-no-dest", func(r *rig) {
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(60))
			r.addDest(k, "10.8.0.1:80", weight(0))
		}, nil, syn("10.9.0.1:1", "10.0.0.1:80"), ipvs.VerdictReject, ipvs.ReasonNoDest},
		// ip_vs_wlc_schedule skips OVERLOADED dests (transcript 062).
		{"all-overloaded", func(r *rig) {
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "wlc")
			r.addDest(k, "10.8.0.12:80", thresholds(1, 0))
			r.addDest(k, "10.8.0.13:80", thresholds(1, 0))
			r.forwardTo(syn("10.9.0.1:40001", "10.0.0.1:80"), "10.8.0.13:80")
			r.forwardTo(syn("10.9.0.2:40001", "10.0.0.1:80"), "10.8.0.12:80")
		}, nil, syn("10.9.0.3:40001", "10.0.0.1:80"), ipvs.VerdictReject, ipvs.ReasonNoDest},
		// ip_vs_ovf_schedule: activeconns > weight -> no dest (spec 8.24).
		{"ovf-full", func(r *rig) {
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "ovf")
			r.addDest(k, "10.8.0.14:80", weight(2))
			r.addDest(k, "10.8.0.15:80", weight(1))
			for i, want := range []string{"10.8.0.14:80", "10.8.0.14:80", "10.8.0.14:80", "10.8.0.15:80", "10.8.0.15:80"} {
				r.forwardTo(syn("10.9.0."+string(rune('1'+i))+":40001", "10.0.0.1:80"), want)
			}
		}, nil, syn("10.9.0.9:40001", "10.0.0.1:80"), ipvs.VerdictReject, ipvs.ReasonNoDest},
		// ip_vs_dh_schedule: the hashed dest is quiesced, no fallback
		// (spec 8.27).
		{"dh-no-fallback", func(r *rig) {
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "dh")
			r.addDest(k, "10.8.0.1:80")
			r.addDest(k, "10.8.0.2:80")
			r.forwardTo(syn("10.9.0.1:1", "10.0.0.1:80"), "10.8.0.1:80")
			r.editDest(k, "10.8.0.1:80", weight(0))
		}, nil, syn("10.9.0.2:1", "10.0.0.1:80"), ipvs.VerdictReject, ipvs.ReasonNoDest},
		// ip_vs_schedule: non-persistent port-zero service.
		{"non-persistent-port-zero", func(r *rig) {
			k := r.addSvc(tcpSvc("10.0.0.2:0"), "rr")
			r.addDest(k, "10.8.0.1:80")
		}, nil, syn("10.9.0.1:1", "10.0.0.2:80"), ipvs.VerdictReject, ipvs.ReasonNoDest},
		// ip_vs_leave: svc->port == 21 and dport != 21 -> NF_ACCEPT.
		{"ftp-service-other-port", func(r *rig) {
			k := r.addSvc(tcpSvc("10.0.0.1:21"), "rr")
			r.addDest(k, "10.8.0.1:21")
		}, nil, syn("10.9.0.1:1", "10.0.0.1:2121"), ipvs.VerdictAccept, ipvs.ReasonFTPPass},
		{"persistent-ftp-no-dest-data-port", func(r *rig) {
			k := r.addSvc(tcpSvc("10.0.0.1:21"), "rr", persist(60))
			r.addDest(k, "10.8.0.1:21", weight(0))
		}, nil, syn("10.9.0.1:1", "10.0.0.1:2121"), ipvs.VerdictAccept, ipvs.ReasonFTPPass},
		{"persistent-ftp-no-dest-control-port", func(r *rig) {
			k := r.addSvc(tcpSvc("10.0.0.1:21"), "rr", persist(60))
			r.addDest(k, "10.8.0.1:21", weight(0))
		}, nil, syn("10.9.0.1:1", "10.0.0.1:21"), ipvs.VerdictReject, ipvs.ReasonNoDest},
		// ip_vs_leave: cache_bypass, fwmark service, non-local destination.
		{"cache-bypass-fwmark-non-local", func(r *rig) {
			r.settings(func(s *ipvs.Settings) { s.CacheBypass = true })
			r.addSvc(fwmSvc(4), "rr")
		}, &ipvs.Config{IsLocal: func(a netip.Addr) bool { return a == netip.MustParseAddr("10.0.0.1") }},
			marked(syn("10.9.0.1:1", "192.0.2.7:80"), 4), ipvs.VerdictBypass, ipvs.ReasonBypass},
		{"cache-bypass-fwmark-local", func(r *rig) {
			r.settings(func(s *ipvs.Settings) { s.CacheBypass = true })
			r.addSvc(fwmSvc(4), "rr")
		}, &ipvs.Config{IsLocal: func(a netip.Addr) bool { return a == netip.MustParseAddr("10.0.0.1") }},
			marked(syn("10.9.0.1:1", "10.0.0.1:80"), 4), ipvs.VerdictReject, ipvs.ReasonNoDest},
		{"cache-bypass-address-service", func(r *rig) {
			r.settings(func(s *ipvs.Settings) { s.CacheBypass = true })
			r.addSvc(tcpSvc("192.0.2.7:80"), "rr")
		}, &ipvs.Config{IsLocal: func(netip.Addr) bool { return false }},
			syn("10.9.0.1:1", "192.0.2.7:80"), ipvs.VerdictReject, ipvs.ReasonNoDest},
		{"cache-bypass-off", func(r *rig) { r.addSvc(fwmSvc(4), "rr") },
			&ipvs.Config{IsLocal: func(netip.Addr) bool { return false }},
			marked(syn("10.9.0.1:1", "192.0.2.7:80"), 4), ipvs.VerdictReject, ipvs.ReasonNoDest},
		{"udp-no-dest", func(r *rig) { r.addSvc(udpSvc("10.0.0.3:53"), "rr") }, nil,
			udpPkt("10.9.0.1:1", "10.0.0.3:53"), ipvs.VerdictReject, ipvs.ReasonNoDest},
		{"ipv6-no-dest", func(r *rig) { r.addSvc(tcpSvc("[2001:db8::1]:80"), "rr", persist(60), netmask("64")) }, nil,
			syn("[2001:db8:9::1]:1", "[2001:db8::1]:80"), ipvs.VerdictReject, ipvs.ReasonNoDest},
		// ip_vs_sip_fill_param fails -> ignored=-1 -> NF_DROP, no ICMP.
		{"sip-pe-no-call-id", func(r *rig) {
			if err := r.d.AddService(ipvs.ServiceConfig{ServiceKey: udpSvc("10.0.0.1:5060"), Scheduler: "rr",
				Flags: ipvs.SvcPersistent, Timeout: 30, PE: "sip"}); err != nil {
				t.Fatal(err)
			}
			r.addDest(udpSvc("10.0.0.1:5060"), "10.8.0.1:5060")
		}, nil, udpPkt("10.9.0.1:5060", "10.0.0.1:5060"), ipvs.VerdictDrop, ipvs.ReasonPEDrop},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r *rig
			if tc.cfg != nil {
				s := ipvs.DefaultSettings()
				cfg := *tc.cfg
				cfg.Settings = &s
				cfg.Schedulers = schedulers
				r = &rig{t: t, d: ipvs.NewDirector(&cfg)}
				r.d.Advance(0)
			} else {
				r = newRig(t, nil)
			}
			tc.setup(r)
			before := r.table()
			nd := r.d.Counters().NoDest.Load()
			res := r.outcome(tc.p, tc.verdict, tc.reason)
			if tc.verdict == ipvs.VerdictBypass {
				if res.Conn == nil || res.Conn.Flags()&ipvs.ConnFwdMask != uint32(ipvs.FwdBypass) {
					t.Fatalf("bypass without a bypass connection: %+v", res)
				}
				return
			}
			if res.Conn != nil {
				t.Fatalf("no-destination outcome with a connection: %+v", res.Conn.DestAddrPort())
			}
			if got := r.table(); !reflect.DeepEqual(got, before) {
				t.Fatalf("table changed: %v -> %v", before, got)
			}
			if d := r.d.Counters().NoDest.Load() - nd; (tc.verdict == ipvs.VerdictReject) != (d == 1) {
				t.Fatalf("Counters.NoDest moved by %d for %v", d, tc.verdict)
			}
		})
	}
}

// TestConformanceExplain pins that Explain reports the template decision of
// ip_vs_sched_persist / ip_vs_check_template (hit, absent, invalid) and
// the ip_vs_in_hook path, without changing anything: Conns(), Services(),
// the decision counters and the scheduler's state are the same afterwards.
func TestConformanceExplain(t *testing.T) {
	r := newRig(t, nil)
	k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(60))
	r.addDest(k, "10.8.0.1:80")
	r.addDest(k, "10.8.0.2:80")
	r.forwardTo(syn("10.9.0.1:1000", "10.0.0.1:80"), "10.8.0.2:80")
	r.at(1)

	type snap struct {
		conns    []ipvs.ConnInfo
		services []ipvs.ServiceInfo
		counters [8]uint64
		count    int
	}
	take := func() snap {
		return snap{r.d.Conns(r.now), r.d.Services(), countersOf(r.d), r.d.ConnCount()}
	}
	explain := func(t *testing.T, p *ipvs.Packet) *ipvs.Explanation {
		t.Helper()
		before := take()
		ex := r.d.Explain(*p, r.now)
		after := take()
		if !reflect.DeepEqual(before.conns, after.conns) {
			t.Errorf("Explain changed Conns():\n  before %v\n  after  %v", before.conns, after.conns)
		}
		if !reflect.DeepEqual(before.services, after.services) {
			t.Errorf("Explain changed Services():\n  before %+v\n  after  %+v", before.services, after.services)
		}
		if before.count != after.count {
			t.Errorf("Explain changed ConnCount: %d -> %d", before.count, after.count)
		}
		if before.counters != after.counters {
			t.Errorf("Explain changed Counters() [hit miss invalid sched resched nodest dropped full]: %v -> %v",
				before.counters, after.counters)
		}
		return ex
	}

	t.Run("template-hit", func(t *testing.T) {
		// ip_vs_ct_in_get finds the template, ip_vs_check_template
		// accepts it: the scheduler is not consulted.
		ex := explain(t, syn("10.9.0.1:1001", "10.0.0.1:80"))
		if !ex.TemplateFound || ex.TemplateVerdict != ipvs.ReasonTemplateHit || ex.TemplateDest != ap("10.8.0.2:80") {
			t.Fatalf("explanation %+v, want template hit to 10.8.0.2:80", ex)
		}
		if ex.Verdict != ipvs.VerdictForward || ex.ConnDest != ap("10.8.0.2:80") {
			t.Fatalf("verdict %v conn dest %v", ex.Verdict, ex.ConnDest)
		}
		if ex.Template == nil || ex.Template.Client != netip.MustParseAddr("10.9.0.1") || ex.Template.VPort != 80 {
			t.Fatalf("template key %+v", ex.Template)
		}
		if ex.TemplateExpires != 59*time.Second {
			t.Fatalf("template expires %v, want 59s", ex.TemplateExpires)
		}
	})
	t.Run("template-absent", func(t *testing.T) {
		ex := explain(t, syn("10.9.0.2:1000", "10.0.0.1:80"))
		if ex.TemplateFound || ex.TemplateVerdict != ipvs.ReasonTemplateAbsent {
			t.Fatalf("explanation %+v, want template absent", ex)
		}
	})
	t.Run("existing-connection", func(t *testing.T) {
		ex := explain(t, ack("10.9.0.1:1000", "10.0.0.1:80"))
		if ex.Existing == nil || ex.Outcome != ipvs.ReasonExisting || ex.ConnDest != ap("10.8.0.2:80") {
			t.Fatalf("explanation %+v, want existing connection", ex)
		}
	})
	t.Run("scheduler-state-untouched", func(t *testing.T) {
		// rr's position is where the first pick left it: the next new
		// client goes to 10.8.0.1 whatever was explained before.
		r.forwardTo(syn("10.9.0.3:1000", "10.0.0.1:80"), "10.8.0.1:80")
	})
	t.Run("template-invalid-quiescent", func(t *testing.T) {
		r.settings(func(s *ipvs.Settings) { s.ExpireQuiescentTemplate = true })
		r.editDest(k, "10.8.0.2:80", weight(0))
		ex := explain(t, syn("10.9.0.1:1002", "10.0.0.1:80"))
		if !ex.TemplateFound || ex.TemplateVerdict != ipvs.ReasonTemplateQuiescent {
			t.Fatalf("explanation %+v, want template invalid (quiescent)", ex)
		}
		if _, ok := r.find("TCP NONE 10.9.0.1:0 10.0.0.1:80 10.8.0.2:80"); !ok {
			t.Fatalf("template re-keyed by Explain: %v", r.table())
		}
		r.editDest(k, "10.8.0.2:80", weight(1))
		r.settings(func(s *ipvs.Settings) { s.ExpireQuiescentTemplate = false })
	})
	t.Run("template-invalid-dest-gone", func(t *testing.T) {
		r.delDest(k, "10.8.0.2:80")
		ex := explain(t, syn("10.9.0.1:1003", "10.0.0.1:80"))
		if !ex.TemplateFound || ex.TemplateVerdict != ipvs.ReasonTemplateDestGone {
			t.Fatalf("explanation %+v, want template invalid (dest gone)", ex)
		}
		if _, ok := r.find("TCP NONE 10.9.0.1:0 10.0.0.1:80 10.8.0.2:80"); !ok {
			t.Fatalf("template re-keyed by Explain: %v", r.table())
		}
	})
	t.Run("dest-unavailable-drop", func(t *testing.T) {
		// ip_vs_in_hook "Check the server status": the packet would be
		// dropped; explaining it must not count a drop.
		ex := explain(t, ack("10.9.0.1:1000", "10.0.0.1:80"))
		if ex.Verdict != ipvs.VerdictDrop || ex.Outcome != ipvs.ReasonDestUnavailable {
			t.Fatalf("explanation %v/%v, want drop/dest unavailable", ex.Verdict, ex.Outcome)
		}
	})
	t.Run("sip-pe-drop", func(t *testing.T) {
		// ip_vs_sip_fill_param: a datagram without Call-ID would be
		// dropped; explaining it must not count a drop.
		if err := r.d.AddService(ipvs.ServiceConfig{ServiceKey: udpSvc("10.0.0.1:5060"), Scheduler: "rr",
			Flags: ipvs.SvcPersistent, Timeout: 30, PE: "sip"}); err != nil {
			t.Fatal(err)
		}
		r.addDest(udpSvc("10.0.0.1:5060"), "10.8.0.1:5060")
		ex := explain(t, udpPkt("10.9.0.1:5060", "10.0.0.1:5060"))
		if ex.Verdict != ipvs.VerdictDrop || ex.Outcome != ipvs.ReasonPEDrop {
			t.Fatalf("explanation %v/%v, want drop/PE", ex.Verdict, ex.Outcome)
		}
	})
	t.Run("after-explain-process-matches", func(t *testing.T) {
		// The real packet then does what was explained: the invalid
		// template is re-keyed and a new one scheduled.
		r.forwardTo(syn("10.9.0.1:1003", "10.0.0.1:80"), "10.8.0.1:80")
		if _, ok := r.find("TCP NONE 10.9.0.1:0 10.0.0.1:65535 10.8.0.2:65535"); !ok {
			t.Fatalf("template not re-keyed by Process: %v", r.table())
		}
	})
}

// TestTableLimit: a table at Settings.MaxConns refuses new entries
// (templates included) and counts them in Director.Refused; the kernel has
// no limit, so this is golvs's own contract (ip_vs_conn_new failing ->
// ignored=-1 -> NF_DROP).
func TestTableLimit(t *testing.T) {
	t.Run("non-persistent", func(t *testing.T) {
		r := newRig(t, func(s *ipvs.Settings) { s.MaxConns = 3 })
		k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
		r.addDest(k, "10.8.0.1:80")
		for i := 0; i < 3; i++ {
			r.forwardTo(syn("10.9.0."+string(rune('1'+i))+":1000", "10.0.0.1:80"), "10.8.0.1:80")
		}
		r.outcome(syn("10.9.0.9:1000", "10.0.0.1:80"), ipvs.VerdictDrop, ipvs.ReasonTableFull)
		r.outcome(syn("10.9.0.9:1001", "10.0.0.1:80"), ipvs.VerdictDrop, ipvs.ReasonTableFull)
		if n := r.d.Refused(); n != 2 {
			t.Fatalf("Refused %d, want 2", n)
		}
		if n := r.d.ConnCount(); n != 3 {
			t.Fatalf("ConnCount %d, want 3", n)
		}
		if n := r.d.Counters().TableFull.Load(); n != 2 {
			t.Fatalf("Counters.TableFull %d, want 2", n)
		}
		r.wantCounters(k, "10.8.0.1:80 3/0/0")
		// Existing connections keep working at the limit.
		r.forwardTo(ack("10.9.0.1:1000", "10.0.0.1:80"), "10.8.0.1:80")
		// At their deadline (60 s in SYN_RECV) the two other connections
		// are still in the table until their timers fire (the kernel's
		// conn_count also drops only in ip_vs_conn_expire): still full.
		r.at(60)
		r.wantExpires("TCP SYN_RECV 10.9.0.2:1000 10.0.0.1:80 10.8.0.1:80", 0)
		r.wantExpires("TCP SYN_RECV 10.9.0.3:1000 10.0.0.1:80 10.8.0.1:80", 0)
		r.outcome(syn("10.9.0.9:1000", "10.0.0.1:80"), ipvs.VerdictDrop, ipvs.ReasonTableFull)
		if n := r.d.Refused(); n != 3 {
			t.Fatalf("Refused %d at the deadline, want 3", n)
		}
		// Once they have fired there is room again.
		r.atTime(fires(0, 60*time.Second))
		if n := r.d.ConnCount(); n != 1 {
			t.Fatalf("ConnCount %d after expiry, want 1", n)
		}
		r.forwardTo(syn("10.9.0.9:1000", "10.0.0.1:80"), "10.8.0.1:80")
		if n := r.d.Refused(); n != 3 {
			t.Fatalf("Refused %d after expiry, want 3", n)
		}
	})
	t.Run("persistent-template-counts", func(t *testing.T) {
		r := newRig(t, func(s *ipvs.Settings) { s.MaxConns = 3 })
		k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(60))
		r.addDest(k, "10.8.0.1:80")
		r.forwardTo(syn("10.9.0.1:1000", "10.0.0.1:80"), "10.8.0.1:80")
		// The template fits (3rd entry), its connection does not.
		r.outcome(syn("10.9.0.2:1000", "10.0.0.1:80"), ipvs.VerdictDrop, ipvs.ReasonTableFull)
		if n := r.d.Refused(); n != 1 {
			t.Fatalf("Refused %d, want 1", n)
		}
		if n := r.d.ConnCount(); n != 3 {
			t.Fatalf("ConnCount %d, want 3", n)
		}
		r.wantCounters(k, "10.8.0.1:80 1/0/2")
		r.outcome(syn("10.9.0.3:1000", "10.0.0.1:80"), ipvs.VerdictDrop, ipvs.ReasonTableFull)
		if n := r.d.Refused(); n != 2 {
			t.Fatalf("Refused %d, want 2", n)
		}
	})
}

// TestConformanceServiceChanges pins what editing and re-creating a service
// does (ip_vs_ctl.c: ip_vs_edit_service, __ip_vs_del_service,
// __ip_vs_update_dest).
func TestConformanceServiceChanges(t *testing.T) {
	runRules(t, []rule{
		{"scheduler-change-resets-rr", func(t *testing.T) {
			// ip_vs_edit_service: another scheduler object -> done_service
			// + init_service; the same name keeps the state (spec 8.49).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
			for _, d := range []string{"10.8.0.1:80", "10.8.0.2:80", "10.8.0.3:80"} {
				r.addDest(k, d)
			}
			r.forwardTo(syn("10.9.0.1:1", "10.0.0.1:80"), "10.8.0.3:80")
			r.forwardTo(syn("10.9.0.2:1", "10.0.0.1:80"), "10.8.0.2:80")
			if err := r.d.EditService(ipvs.ServiceConfig{ServiceKey: k, Scheduler: "rr"}); err != nil {
				t.Fatal(err)
			}
			r.forwardTo(syn("10.9.0.3:1", "10.0.0.1:80"), "10.8.0.1:80")
			if err := r.d.EditService(ipvs.ServiceConfig{ServiceKey: k, Scheduler: "wlc"}); err != nil {
				t.Fatal(err)
			}
			if err := r.d.EditService(ipvs.ServiceConfig{ServiceKey: k, Scheduler: "rr"}); err != nil {
				t.Fatal(err)
			}
			r.forwardTo(syn("10.9.0.4:1", "10.0.0.1:80"), "10.8.0.3:80")
		}},
		{"persistence-removed", func(t *testing.T) {
			// ip_vs_edit_service replaces the flags: without PERSISTENT new
			// connections take the non-persistent path; old templates
			// stay until they expire, unused (spec 3.11).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(60))
			r.addDest(k, "10.8.0.1:80")
			r.addDest(k, "10.8.0.2:80")
			r.forwardTo(syn("10.9.0.1:1", "10.0.0.1:80"), "10.8.0.2:80")
			if err := r.d.EditService(ipvs.ServiceConfig{ServiceKey: k, Scheduler: "rr"}); err != nil {
				t.Fatal(err)
			}
			r.forwardTo(syn("10.9.0.1:2", "10.0.0.1:80"), "10.8.0.1:80")
			r.forwardTo(syn("10.9.0.1:3", "10.0.0.1:80"), "10.8.0.2:80")
			r.wantExpires("TCP NONE 10.9.0.1:0 10.0.0.1:80 10.8.0.2:80", 60*time.Second)
			r.at(121)
			r.wantTable()
		}},
		{"service-recreated-dest-revived-stats-zeroed", func(t *testing.T) {
			// __ip_vs_del_service moves the dests to the trash with their
			// connections; re-adding the dest to the re-created service
			// revives it (ip_vs_trash_get_dest) with its connection
			// counters, and zeroes its statistics because its service
			// object changed (__ip_vs_update_dest) (spec 8.60).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
			r.addDest(k, "10.8.0.1:80")
			r.forwardTo(syn("10.9.0.1:1", "10.0.0.1:80"), "10.8.0.1:80")
			r.at(2)
			if err := r.d.DelService(k); err != nil {
				t.Fatal(err)
			}
			r.outcome(ack("10.9.0.1:1", "10.0.0.1:80"), ipvs.VerdictDrop, ipvs.ReasonDestUnavailable)
			r.addSvc(k, "rr")
			r.addDest(k, "10.8.0.1:80")
			r.wantCounters(k, "10.8.0.1:80 1/0/0")
			r.at(4)
			si, _ := r.d.Service(k)
			if st := si.Dests[0].Stats; st.Conns != 0 || st.InPkts != 0 {
				t.Fatalf("revived dest stats %+v, want zeroed", st)
			}
			r.forwardTo(ack("10.9.0.1:1", "10.0.0.1:80"), "10.8.0.1:80")
			r.at(6)
			si, _ = r.d.Service(k)
			if st := si.Dests[0].Stats; st.Conns != 0 || st.InPkts != 1 {
				t.Fatalf("revived dest stats %+v, want Conns 0 InPkts 1", st)
			}
		}},
	})
}

// TestConformanceDestValidation pins the checks of ip_vs_ctl.c:
// ip_vs_add_dest and ip_vs_edit_dest, in the kernel's order: weight < 0
// (ERANGE), l_threshold > u_threshold (ERANGE, also when u is 0),
// u_threshold > INT_MAX (EINVAL), GUE without port (EINVAL).
func TestConformanceDestValidation(t *testing.T) {
	cases := []struct {
		name string
		dc   ipvs.DestConfig
		want error
	}{
		{"negative-weight", destCfg("10.8.0.1:80", weight(-1)), ipvs.ErrRange},
		{"lower-above-upper", destCfg("10.8.0.1:80", thresholds(4, 5)), ipvs.ErrRange},
		{"lower-without-upper", destCfg("10.8.0.1:80", thresholds(0, 5)), ipvs.ErrRange},
		{"upper-above-int-max", destCfg("10.8.0.1:80", thresholds(1<<31, 0)), ipvs.ErrInvalid},
		{"lower-above-upper-above-int-max", destCfg("10.8.0.1:80", thresholds(1<<31, 1<<32-1)), ipvs.ErrRange},
		{"gue-without-port", func() ipvs.DestConfig {
			d := destCfg("10.8.0.1:80", method(ipvs.FwdTunnel))
			d.TunType = ipvs.TunGUE
			return d
		}(), ipvs.ErrInvalid},
		{"valid", destCfg("10.8.0.1:80", thresholds(4, 2)), nil},
	}
	for _, op := range []string{"add", "edit"} {
		for _, tc := range cases {
			t.Run(op+"/"+tc.name, func(t *testing.T) {
				r := newRig(t, nil)
				k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
				var err error
				if op == "add" {
					err = r.d.AddDest(k, tc.dc)
				} else {
					r.addDest(k, "10.8.0.1:80")
					err = r.d.EditDest(k, tc.dc)
				}
				if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
					t.Fatalf("%s dest %+v: error %v, want %v", op, tc.dc, err, tc.want)
				}
			})
		}
	}
}

// TestDropPacketDefense pins ip_vs.h: ip_vs_todrop as tcp_conn_schedule and
// udp_conn_schedule call it, once a service is found and before
// ip_vs_schedule, with ip_vs_ctl.c: update_defense_level setting drop_rate:
// mode 3 drops one new connection in am_droprate, starting with the first
// (the counter is not reset); packets of existing connections and packets
// to no service are not counted; an automatic mode without memory pressure
// (2 falls back to 1) drops nothing; a change of am_droprate is picked up
// at the next defense tick (every second). Scenario 140 on the oracle.
func TestDropPacketDefense(t *testing.T) {
	r := newRig(t, nil)
	k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
	r.addDest(k, "10.8.0.1:80")
	r.addSvc(tcpSvc("10.0.0.2:80"), "rr") // no dests: ip_vs_leave after todrop
	r.forwardTo(syn("10.9.0.1:1000", "10.0.0.1:80"), "10.8.0.1:80")
	r.settings(func(s *ipvs.Settings) { s.AmDroprate = 3; s.DropPacket = 3 })
	if ex := r.d.Explain(*syn("10.9.0.2:1000", "10.0.0.1:80"), r.now); ex.Verdict != ipvs.VerdictDrop || ex.Outcome != ipvs.ReasonDefenseDrop {
		t.Fatalf("Explain: %v/%v, want a drop by the defense", ex.Verdict, ex.Outcome)
	}
	r.outcome(syn("10.9.0.2:1000", "10.0.0.1:80"), ipvs.VerdictDrop, ipvs.ReasonDefenseDrop)
	r.forwardTo(ack("10.9.0.1:1000", "10.0.0.1:80"), "10.8.0.1:80") // existing: not counted
	r.outcome(syn("10.9.0.3:1000", "10.0.0.3:80"), ipvs.VerdictAccept, ipvs.ReasonNoService)
	r.forwardTo(syn("10.9.0.2:1000", "10.0.0.1:80"), "10.8.0.1:80")                       // 2 left
	r.outcome(syn("10.9.0.4:1000", "10.0.0.2:80"), ipvs.VerdictReject, ipvs.ReasonNoDest) // 1 left
	r.outcome(syn("10.9.0.5:1000", "10.0.0.1:80"), ipvs.VerdictDrop, ipvs.ReasonDefenseDrop)
	r.forwardTo(syn("10.9.0.5:1000", "10.0.0.1:80"), "10.8.0.1:80")
	r.forwardTo(syn("10.9.0.6:1000", "10.0.0.1:80"), "10.8.0.1:80")
	r.settings(func(s *ipvs.Settings) { s.AmDroprate = 1 }) // not applied before the next tick
	r.outcome(syn("10.9.0.7:1000", "10.0.0.1:80"), ipvs.VerdictDrop, ipvs.ReasonDefenseDrop)
	r.forwardTo(syn("10.9.0.8:1000", "10.0.0.1:80"), "10.8.0.1:80")
	r.at(1)
	r.outcome(syn("10.9.0.9:1000", "10.0.0.1:80"), ipvs.VerdictForward, ipvs.ReasonScheduled) // counter 1 left
	r.outcome(syn("10.9.0.10:1000", "10.0.0.1:80"), ipvs.VerdictDrop, ipvs.ReasonDefenseDrop)
	r.outcome(syn("10.9.0.11:1000", "10.0.0.1:80"), ipvs.VerdictDrop, ipvs.ReasonDefenseDrop)
	r.settings(func(s *ipvs.Settings) { s.DropPacket = 2 })
	if got := r.d.Settings().DropPacket; got != 1 {
		t.Fatalf("drop_packet=2 without memory pressure reads %d, want 1", got)
	}
	for i := 12; i < 16; i++ {
		r.forwardTo(syn(fmt.Sprintf("10.9.0.%d:1000", i), "10.0.0.1:80"), "10.8.0.1:80")
	}
	if n := r.d.Counters().Dropped.Load(); n != 5 {
		t.Fatalf("Counters.Dropped %d, want 5", n)
	}
}
