package check

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/golvs/golvs/control"
	"github.com/golvs/golvs/ipvs"
)

// Integration tests: real backend processes on 127.0.0.0/8, real clock,
// short intervals. They assert on the order of events and on detection
// before a deadline derived from the configuration (FailureBound,
// RecoveryBound) with generous slack, never on exact durations.

// fastCheck is a check with short intervals for loopback backends.
func fastCheck(p Prober) *Check {
	return &Check{Probe: p, Interval: 150 * time.Millisecond, Timeout: 200 * time.Millisecond,
		Retries: 1, DelayBeforeRetry: 100 * time.Millisecond}
}

// realRig is a director driven on the real clock, its controller, and a
// running checker.
type realRig struct {
	t     *testing.T
	clock monoClock
	d     *ipvs.Director
	ctl   *control.Controller
	key   ipvs.ServiceKey
	chk   *Checker
	ev    *eventWaiter
	cport uint16
}

func newRealRig(t *testing.T, svc Service, mod func(*ipvs.Settings), scfg func(*ipvs.ServiceConfig)) *realRig {
	t.Helper()
	r := &realRig{t: t, clock: monoClock{RealClock()}, key: svc.Key, ev: newEventWaiter(), cport: 40000}
	r.d, r.ctl = newDirector(t, RealClock(), svc.Key, mod, scfg)
	var err error
	r.chk, err = New(r.ctl, []Service{svc}, &Options{Log: quietLog(), OnEvent: r.ev.onEvent})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.chk.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.chk.Stop)
	return r
}

// waitChecks waits until server i of the service has run n more attempts.
func (r *realRig) waitChecks(i, n int, within time.Duration) {
	r.t.Helper()
	start := r.chk.Status().Services[0].Servers[i].Checks
	limit := time.Now().Add(within)
	for r.chk.Status().Services[0].Servers[i].Checks < start+uint64(n) {
		if time.Now().After(limit) {
			r.t.Fatalf("server %d ran fewer than %d attempts within %v", i, n, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syn sends a new connection from client and returns the real server it
// went to ("" when not forwarded).
func (r *realRig) syn(client string) string {
	r.t.Helper()
	r.cport++
	var res ipvs.Result
	r.ctl.Apply(func(d *ipvs.Director, now ipvs.Time) error {
		res = d.Process(&ipvs.Packet{
			Protocol: ipvs.ProtoTCP, Src: netip.MustParseAddr(client), SrcPort: r.cport,
			Dst: r.key.Addr, DstPort: r.key.Port, TCPFlags: ipvs.TCPSyn, Len: 60,
		}, now)
		return nil
	})
	if res.Verdict != ipvs.VerdictForward {
		return ""
	}
	return res.Conn.DestAddrPort().String()
}

// table returns the service's dests as "addr:port=weight", sorted.
func (r *realRig) table() []string {
	si, err := r.d.Service(r.key)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, x := range si.Dests {
		out = append(out, fmt.Sprintf("%s=%d", netip.AddrPortFrom(x.Addr, x.Port), x.Weight))
	}
	sort.Strings(out)
	return out
}

func (r *realRig) wantTable(want ...string) {
	r.t.Helper()
	sort.Strings(want)
	if got := r.table(); !slices.Equal(got, want) {
		r.t.Errorf("director has %q, want %q", got, want)
	}
}

func backendDest(b *backend, w int32) ipvs.DestConfig {
	return ipvs.DestConfig{Addr: b.addr.Addr(), Port: b.addr.Port(), Method: ipvs.FwdMasq, Weight: w}
}

// TestIntegrationKillHangRevive: a TCP-checked and an HTTP-checked backend
// are killed, hung and revived; each failure is detected within the
// check's failure bound, each recovery within its recovery bound.
func TestIntegrationKillHangRevive(t *testing.T) {
	noLeak(t)
	tb := startBackend(t, "tcp", "127.0.0.2")
	hb := startBackend(t, "http", "127.0.0.3")
	tcpChk := fastCheck(&TCP{Addr: tb.addr})
	httpChk := fastCheck(&HTTP{Addr: hb.addr, URLs: []URL{{Path: "/health"}}})
	r := newRealRig(t, Service{Key: tcpKey("10.0.0.1:80"), Servers: []Server{
		{Dest: backendDest(tb, 1), Check: tcpChk},
		{Dest: backendDest(hb, 2), Check: httpChk},
	}}, nil, nil)
	tn, hn := tb.addr.String(), hb.addr.String()
	r.ev.waitFor(t, EventQuorumUp, "", slack(0))
	r.wantTable(tn+"=1", hn+"=2")

	// Kill: connections are refused.
	tb.kill()
	r.ev.waitFor(t, EventDown, tn, slack(tcpChk.FailureBound()))
	r.wantTable(hn + "=2")
	tb.revive()
	r.ev.waitFor(t, EventUp, tn, slack(tcpChk.RecoveryBound()))
	r.wantTable(tn+"=1", hn+"=2")

	// Hang: the kernel accepts, nobody answers; every attempt times out.
	hb.hang()
	e := r.ev.waitFor(t, EventDown, hn, slack(httpChk.FailureBound()))
	if e.Err == "" {
		t.Errorf("down event without the error")
	}
	r.wantTable(tn + "=1")
	hb.resume()
	r.ev.waitFor(t, EventUp, hn, slack(httpChk.RecoveryBound()))
	r.wantTable(tn+"=1", hn+"=2")

	// A hung TCP backend still completes handshakes: TCP_CHECK keeps it up
	// (keepalived's semantics), until the HTTP check of the same process
	// would have noticed.
	tb.hang()
	r.waitChecks(0, tcpChk.Retries+2, slack(tcpChk.FailureBound()))
	if st := r.chk.Status().Services[0].Servers[0]; st.State != "up" || st.ConsecutiveFailures != 0 {
		t.Errorf("hung TCP backend: %s after %d failures, want up (the kernel completes the handshake)", st.State, st.ConsecutiveFailures)
	}
	tb.resume()

	st := r.chk.Status().Services[0].Servers[1]
	var states []string
	for _, h := range st.History {
		states = append(states, h.State)
	}
	if !slices.Equal(states, []string{"up", "down", "up"}) || st.Failures < 2 {
		t.Errorf("HTTP server history %q, %d failures", states, st.Failures)
	}
	r.chk.Stop() // noLeak checks that every loop and probe ended
}

// TestIntegrationPersistentReschedule: a persistent client of a server
// that dies is scheduled to another server at its next connection: at
// once when the server is removed, and under inhibit_on_failure only with
// expire_quiescent_template=1 (without it the template keeps sending the
// client to the dead server).
func TestIntegrationPersistentReschedule(t *testing.T) {
	for _, tc := range []struct {
		name      string
		inhibit   bool
		eqt       bool
		rescheds  bool
		deadTable string
	}{
		{"removal", false, false, true, ""},
		{"inhibit, expire_quiescent_template=1", true, true, true, "=0"},
		{"inhibit, expire_quiescent_template=0", true, false, false, "=0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeak(t)
			b1 := startBackend(t, "tcp", "127.0.0.2")
			b2 := startBackend(t, "tcp", "127.0.0.3")
			c1, c2 := fastCheck(&TCP{Addr: b1.addr}), fastCheck(&TCP{Addr: b2.addr})
			r := newRealRig(t, Service{Key: tcpKey("10.0.0.1:80"), Servers: []Server{
				{Dest: backendDest(b1, 1), Check: c1, InhibitOnFailure: tc.inhibit},
				{Dest: backendDest(b2, 1), Check: c2, InhibitOnFailure: tc.inhibit},
			}}, func(s *ipvs.Settings) { s.ExpireQuiescentTemplate = tc.eqt },
				func(c *ipvs.ServiceConfig) { c.Flags |= ipvs.SvcPersistent; c.Timeout = 300 })
			r.ev.waitFor(t, EventQuorumUp, "", slack(0))
			const client = "192.0.2.7"
			first := r.syn(client)
			if first == "" || r.syn(client) != first {
				t.Fatalf("persistent client not kept: %q", first)
			}
			dead, other := b1, b2
			if first == b2.addr.String() {
				dead, other = b2, b1
			}
			dead.kill()
			r.ev.waitFor(t, EventDown, dead.addr.String(), slack(c1.FailureBound()))
			want := []string{other.addr.String() + "=1"}
			if tc.deadTable != "" {
				want = append(want, dead.addr.String()+tc.deadTable)
			}
			r.wantTable(want...)
			got := r.syn(client)
			wantDest := dead.addr.String()
			if tc.rescheds {
				wantDest = other.addr.String()
			}
			if got != wantDest {
				t.Errorf("next connection of the persistent client went to %q, want %q", got, wantDest)
			}
			// Once rescheduled, the client stays with its new server after
			// the old one comes back.
			dead.revive()
			r.ev.waitFor(t, EventUp, dead.addr.String(), slack(c1.RecoveryBound()))
			if again := r.syn(client); again != got {
				t.Errorf("after the revival the client went to %q, want %q", again, got)
			}
			r.chk.Stop()
		})
	}
}

// TestIntegrationQuorumSorry: losing the quorum switches the service to
// the sorry server, regaining it switches back.
func TestIntegrationQuorumSorry(t *testing.T) {
	noLeak(t)
	var bs []*backend
	var servers []Server
	for i := range 3 {
		b := startBackend(t, "tcp", fmt.Sprintf("127.0.0.%d", 2+i))
		bs = append(bs, b)
		servers = append(servers, Server{Dest: backendDest(b, 1), Check: fastCheck(&TCP{Addr: b.addr})})
	}
	sorry := startBackend(t, "tcp", "127.0.0.9")
	sd := backendDest(sorry, 1)
	r := newRealRig(t, Service{Key: tcpKey("10.0.0.1:80"), Quorum: 2, SorryServer: &sd, Servers: servers}, nil, nil)
	r.ev.waitFor(t, EventQuorumUp, "", slack(0))
	bound := slack(servers[0].Check.FailureBound())
	names := []string{bs[0].addr.String(), bs[1].addr.String(), bs[2].addr.String()}

	bs[0].kill()
	r.ev.waitFor(t, EventDown, names[0], bound)
	r.wantTable(names[1]+"=1", names[2]+"=1")
	bs[1].kill()
	r.ev.waitFor(t, EventDown, names[1], bound)
	r.ev.waitFor(t, EventQuorumDown, "", bound)
	r.ev.waitFor(t, EventSorryOn, "", bound)
	r.wantTable(sorry.addr.String() + "=1")
	if got := r.syn("192.0.2.8"); got != sorry.addr.String() {
		t.Errorf("without quorum a new client went to %q, want the sorry server", got)
	}

	bs[0].revive()
	r.ev.waitFor(t, EventUp, names[0], slack(servers[0].Check.RecoveryBound()))
	r.ev.waitFor(t, EventQuorumUp, "", bound)
	r.ev.waitFor(t, EventSorryOff, "", bound)
	r.wantTable(names[0]+"=1", names[2]+"=1")
	if got := r.syn("192.0.2.9"); got != names[0] && got != names[2] {
		t.Errorf("with quorum a new client went to %q", got)
	}
	r.chk.Stop()
}
