package check

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/metrics"
)

const (
	vip = "10.0.0.1:80"
	rs1 = "10.0.1.1:80"
	rs2 = "10.0.1.2:80"
	rs3 = "10.0.1.3:80"
	rs4 = "10.0.1.4:80"
	sry = "10.0.9.9:80"
)

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// chk returns a check; warmup staggers the first attempts (the harness's
// Rand takes the whole warmup).
func chk(interval, timeout float64, retries int, dbr, warmup float64) *Check {
	return &Check{Interval: sec(interval), Timeout: sec(timeout), Retries: retries, DelayBeforeRetry: sec(dbr), Warmup: sec(warmup)}
}

// TestRetries: an up server goes down after retries+1 failures in a row,
// retried after delay_before_retry; once down it is checked every
// interval, and one success brings it back (check_udp.c: udp_epilog).
func TestRetries(t *testing.T) {
	h := newHarness(t, Service{Key: tcpKey(vip), Servers: []Server{
		{Dest: dest(rs1, 3), Check: chk(10, 1, 2, 3, 0), NotifyUp: []string{"up1"}, NotifyDown: []string{"down1"}},
	}}, nil)
	h.runFor(0)
	h.wantTable(rs1 + "=3")
	h.wantEvents(true, "0s quorum-up w=3")
	// keepalived runs no notify_up for a server that starts up and stays up.
	h.wantNotifies()

	h.probes[rs1].set(false)
	h.runFor(sec(15))
	h.wantEvents(true, "10s retry "+rs1, "13s retry "+rs1)
	h.wantTable(rs1 + "=3")
	h.runFor(sec(1)) // 16 s: third failure in a row
	h.wantEvents(true, "16s down "+rs1, "16s quorum-down w=0")
	h.wantTable()
	h.wantNotifies("down1 | down")

	// Down: checked every interval, no retries.
	h.runFor(sec(20))
	h.wantEvents(true)
	if got := h.chk.Status().Services[0].Servers[0].ConsecutiveFailures; got != 5 {
		t.Errorf("consecutive failures %d, want 5 (16, 26, 36 s after two retries)", got)
	}
	h.probes[rs1].set(true)
	h.runFor(sec(10))
	h.wantEvents(true, "46s up "+rs1, "46s quorum-up w=3")
	h.wantTable(rs1 + "=3")
	h.wantNotifies("up1 | up")

	// A success between failures starts the count again.
	h.probes[rs1].set(false)
	h.runFor(sec(10)) // 56: fail, retry at 59
	h.probes[rs1].set(true)
	h.runFor(sec(3)) // 59: ok, next at 69
	h.probes[rs1].set(false)
	h.runFor(sec(16)) // 69 fail, 72 fail, 75 fail: down
	h.wantEvents(true, "56s retry "+rs1, "69s retry "+rs1, "72s retry "+rs1, "75s down "+rs1, "75s quorum-down w=0")
}

// TestFirstFailureIsEnough: before its first success a server goes down at
// its first failure, whatever its retries (check_api.c: "one failure is
// enough initially").
func TestFirstFailureIsEnough(t *testing.T) {
	h := newHarness(t, Service{Key: tcpKey(vip), Servers: []Server{
		{Dest: dest(rs1, 1), Check: chk(10, 1, 3, 1, 1), NotifyDown: []string{"down1"}},
		{Dest: dest(rs2, 1)},
	}}, nil)
	h.probes[rs1].set(false)
	h.runFor(sec(1))
	h.wantEvents(true, "0s quorum-up w=2", "1s down "+rs1)
	h.wantNotifies("down1 | down")
	h.wantTable(rs2 + "=1")
}

// TestRetriesZero: with retry 0 the first failure marks the server down.
func TestRetriesZero(t *testing.T) {
	h := newHarness(t, Service{Key: tcpKey(vip), Servers: []Server{
		{Dest: dest(rs1, 1), Check: chk(5, 1, 0, 1, 0)},
		{Dest: dest(rs2, 1)}, // unchecked: always alive
	}}, nil)
	h.runFor(0)
	h.takeEvents(true)
	h.probes[rs1].set(false)
	h.runFor(sec(5))
	h.wantEvents(true, "5s down "+rs1)
	h.wantTable(rs2 + "=1")
}

// TestAlpha: an alpha server starts down (out of the director, or in with
// weight 0 when inhibited) and comes up at its first success, with its
// notify_up; a non-alpha server that starts up gets no notify.
func TestAlpha(t *testing.T) {
	a := chk(10, 1, 1, 1, 2)
	a.Alpha = true
	b := *a
	h := newHarness(t, Service{Key: tcpKey(vip), Servers: []Server{
		{Dest: dest(rs1, 2), Check: a, NotifyUp: []string{"up1"}},
		{Dest: dest(rs2, 3), Check: &b, InhibitOnFailure: true, NotifyUp: []string{"up2"}},
		{Dest: dest(rs3, 1), Check: chk(10, 1, 1, 1, 2), NotifyUp: []string{"up3"}},
	}}, nil)
	h.clk.blockUntil(t, h.loops) // all in warmup: the initial state
	h.wantTable(rs2+"=0", rs3+"=1")
	st := h.chk.Status().Services[0]
	if st.Servers[0].State != "down" || st.Servers[1].State != "down" || st.Servers[2].State != "up" {
		t.Errorf("initial states %s %s %s, want down down up", st.Servers[0].State, st.Servers[1].State, st.Servers[2].State)
	}
	if st.Servers[0].DirectorWeight != -1 || st.Servers[1].DirectorWeight != 0 {
		t.Errorf("director weights %d %d, want -1 0", st.Servers[0].DirectorWeight, st.Servers[1].DirectorWeight)
	}
	h.wantEvents(false, "0s quorum-up w=1")
	h.probes[rs2].set(false)
	h.runFor(sec(2))
	// rs3 started up: its first success is no transition and not notified.
	h.wantEvents(false, "2s up "+rs1)
	h.wantTable(rs1+"=2", rs2+"=0", rs3+"=1")
	h.wantNotifies("up1 | up")
	h.probes[rs2].set(true)
	h.runFor(sec(10))
	h.wantEvents(false, "12s up "+rs2)
	h.wantTable(rs1+"=2", rs2+"=3", rs3+"=1")
}

// TestAlphaFirstFailure: keepalived notifies down an alpha server whose
// first check fails (update_svr_checker_state with has_run unset; retries
// do not count before the first success), without a transition.
func TestAlphaFirstFailure(t *testing.T) {
	a := chk(10, 1, 2, 1, 1)
	a.Alpha = true
	h := newHarness(t, Service{Key: tcpKey(vip), Servers: []Server{
		{Dest: dest(rs1, 1), Check: a, NotifyDown: []string{"down1"}},
		{Dest: dest(rs2, 1)},
	}}, nil)
	h.probes[rs1].set(false) // before the first attempt, at 1 s
	h.runFor(sec(10))
	h.wantEvents(false, "0s quorum-up w=1")
	h.wantNotifies("down1 | down")
	h.wantTable(rs2 + "=1")
	// Later failures of a server that never came up notify nothing.
	h.runFor(sec(20))
	h.wantNotifies()
}

// TestInhibitVersusRemoval: on failure an inhibited server stays with
// weight 0 (its connections and templates stay valid); the other is
// removed (its templates become invalid).
func TestInhibitVersusRemoval(t *testing.T) {
	h := newHarness(t, Service{Key: tcpKey(vip), Servers: []Server{
		{Dest: dest(rs1, 5), Check: chk(10, 1, 0, 1, 1), InhibitOnFailure: true},
		{Dest: dest(rs2, 7), Check: chk(10, 1, 0, 1, 2)},
	}}, nil)
	h.runFor(0)
	h.wantTable(rs1+"=5", rs2+"=7")
	h.probes[rs1].set(false)
	h.probes[rs2].set(false)
	h.runFor(sec(3))
	h.wantEvents(false, "0s quorum-up w=12", "1s down "+rs1, "2s down "+rs2, "2s quorum-down w=0")
	h.wantTable(rs1 + "=0")
	hs := h.chk.Health()
	k1 := metrics.RealServer{Service: tcpKey(vip), Server: netip.MustParseAddrPort(rs1)}
	if got := hs[k1]; len(hs) != 2 || got.Healthy || got.Detail != "refused" || !got.Since.Equal(epoch.Add(sec(1))) {
		t.Errorf("Health %+v", hs)
	}
	h.probes[rs1].set(true)
	h.probes[rs2].set(true)
	h.runFor(sec(10))
	h.wantEvents(false, "11s up "+rs1, "11s quorum-up w=5", "12s up "+rs2)
	h.wantTable(rs1+"=5", rs2+"=7")
}

// TestQuorumHysteresis: quorum 3, hysteresis 1, four servers of weight 1:
// the quorum is gained at 4 alive and lost below 2.
func TestQuorumHysteresis(t *testing.T) {
	h := newHarness(t, Service{Key: tcpKey(vip), Quorum: 3, Hysteresis: 1,
		QuorumUp: []string{"qup"}, QuorumDown: []string{"qdown"},
		Servers: []Server{
			{Dest: dest(rs1, 1), Check: chk(10, 1, 0, 1, 1)},
			{Dest: dest(rs2, 1), Check: chk(10, 1, 0, 1, 2)},
			{Dest: dest(rs3, 1), Check: chk(10, 1, 0, 1, 3)},
			{Dest: dest(rs4, 1), Check: chk(10, 1, 0, 1, 4)},
		}}, nil)
	h.runFor(0)
	h.wantEvents(false, "0s quorum-up w=4")
	h.wantNotifies("qup | quorum-up")
	for _, r := range []string{rs1, rs2} {
		h.probes[r].set(false)
	}
	h.runFor(sec(4))
	h.wantEvents(false, "1s down "+rs1, "2s down "+rs2) // 2 alive: not below 3-1
	h.probes[rs3].set(false)
	h.runFor(sec(10))
	h.wantEvents(false, "13s down "+rs3, "13s quorum-down w=1")
	h.wantNotifies("qdown | quorum-down")
	// Without a sorry server, losing the quorum changes no dest.
	h.wantTable(rs4 + "=1")
	for _, r := range []string{rs1, rs2} {
		h.probes[r].set(true)
	}
	h.runFor(sec(8.5))
	h.wantEvents(false, "21s up "+rs1, "22s up "+rs2) // 3 alive: not 3+1
	h.wantNotifies()
	h.probes[rs3].set(true)
	h.runFor(sec(1))
	h.wantEvents(false, "23s up "+rs3, "23s quorum-up w=4")
	h.wantNotifies("qup | quorum-up")
	st := h.chk.Status().Services[0]
	if !st.QuorumUp || st.AliveWeight != 4 || len(st.History) != 4 {
		t.Errorf("status %+v", st)
	}
}

// TestSorryServer: when the quorum is lost the sorry server replaces the
// alive real servers (removed, or weight 0 when inhibited); when it is
// regained they come back and the sorry server goes.
func TestSorryServer(t *testing.T) {
	ss := dest(sry, 0)
	ss.Port = 0 // the service's port
	h := newHarness(t, Service{Key: tcpKey(vip), Quorum: 2, SorryServer: &ss,
		QuorumUp: []string{"qup"}, QuorumDown: []string{"qdown"},
		Servers: []Server{
			{Dest: dest(rs1, 1), Check: chk(10, 1, 0, 1, 1)},
			{Dest: dest(rs2, 1), Check: chk(10, 1, 0, 1, 2), InhibitOnFailure: true},
			{Dest: dest(rs3, 1), Check: chk(10, 1, 0, 1, 3)},
		}}, nil)
	h.runFor(0)
	h.wantTable(rs1+"=1", rs2+"=1", rs3+"=1")
	h.takeEvents(false)
	h.probes[rs1].set(false)
	h.runFor(sec(1))
	h.wantTable(rs2+"=1", rs3+"=1")
	h.probes[rs3].set(false)
	h.runFor(sec(3))
	h.wantEvents(false, "1s down "+rs1, "3s down "+rs3, "3s quorum-down w=1", "3s sorry-on "+sry)
	h.wantTable(rs2+"=0", sry+"=1")
	h.wantNotifies("qup | quorum-up", "qdown | quorum-down")
	// While the sorry server is in, changes of alive servers stay out.
	h.probes[rs2].set(false)
	h.runFor(sec(10))
	h.wantEvents(false, "12s down "+rs2)
	h.wantTable(rs2+"=0", sry+"=1")
	h.probes[rs2].set(true)
	h.probes[rs1].set(true)
	h.runFor(sec(10))
	h.wantEvents(false, "21s up "+rs1, "22s up "+rs2, "22s quorum-up w=2", "22s sorry-off "+sry)
	h.wantTable(rs1+"=1", rs2+"=1")
	h.wantNotifies("qup | quorum-up")
	if st := h.chk.Status().Services[0]; st.SorryActive || st.SorryServer != sry {
		t.Errorf("sorry status %v %q", st.SorryActive, st.SorryServer)
	}
}

// TestSorryServerAtStart: alpha servers start down, so a service with a
// sorry server starts with it and with quorum_down (ipwrapper.c:
// update_quorum_state with init).
func TestSorryServerAtStart(t *testing.T) {
	a := chk(10, 1, 0, 1, 1)
	a.Alpha = true
	ss := dest(sry, 4)
	h := newHarness(t, Service{Key: tcpKey(vip), SorryServer: &ss, QuorumDown: []string{"qdown"},
		Servers: []Server{{Dest: dest(rs1, 1), Check: a}}}, nil)
	h.clk.blockUntil(t, h.loops)
	h.wantTable(sry + "=4")
	h.wantEvents(false, "0s quorum-down w=0", "0s sorry-on "+sry)
	h.wantNotifies("qdown | quorum-down")
	h.runFor(sec(1))
	h.wantEvents(false, "1s up "+rs1, "1s quorum-up w=1", "1s sorry-off "+sry)
	h.wantTable(rs1 + "=1")
}

// TestMiscDynamic: a dynamic misc check's exit status 2..255 sets the
// weight to status-2 (a healthy answer); the weight counts in the quorum,
// and is kept while the server is down.
func TestMiscDynamic(t *testing.T) {
	h := newHarness(t, Service{Key: tcpKey(vip), Servers: []Server{
		{Dest: dest(rs1, 1), Check: chk(10, 1, 0, 1, 1)},
		{Dest: dest(rs2, 1), Check: chk(10, 1, 0, 1, 2), InhibitOnFailure: true},
	}}, nil)
	h.runFor(0)
	h.takeEvents(false)
	h.probes[rs1].setWeight(5)
	h.probes[rs2].setWeight(0)
	h.runFor(sec(2))
	h.wantEvents(false, "1s weight "+rs1+" w=5", "2s weight "+rs2+" w=0")
	h.wantTable(rs1+"=5", rs2+"=0")
	h.probes[rs1].set(false)
	h.runFor(sec(10))
	// rs2 is alive with weight 0: the alive weight is 0, the quorum is lost.
	h.wantEvents(false, "11s down "+rs1, "11s quorum-down w=0")
	h.wantTable(rs2 + "=0")
	h.probes[rs1].setWeight(9)
	h.runFor(sec(10))
	h.wantEvents(false, "21s weight "+rs1+" w=9", "21s up "+rs1, "21s quorum-up w=9")
	h.wantTable(rs1+"=9", rs2+"=0")
	if st := h.chk.Status().Services[0].Servers[0]; st.Weight != 9 || st.DirectorWeight != 9 {
		t.Errorf("weights %d %d", st.Weight, st.DirectorWeight)
	}
}

// TestWarmup: the first attempt waits Rand(warmup+1).
func TestWarmup(t *testing.T) {
	var asked []int64
	h := newHarness(t, Service{Key: tcpKey(vip), Servers: []Server{
		{Dest: dest(rs1, 1), Check: chk(10, 1, 0, 1, 8)},
	}}, &harnessOpts{rand: func(n int64) int64 { asked = append(asked, n); return int64(sec(3)) }})
	h.takeEvents(false)
	h.probes[rs1].set(false)
	h.runFor(sec(2.5))
	h.wantEvents(false)
	h.runFor(sec(1))
	h.wantEvents(false, "3s down "+rs1, "3s quorum-down w=0")
	if len(asked) != 1 || asked[0] != int64(sec(8))+1 {
		t.Errorf("Rand asked %v, want [8s+1]", asked)
	}
}

// TestWarmupSeeded: with a seeded generator the first attempt comes at the
// generator's draw, in [0, warmup].
func TestWarmupSeeded(t *testing.T) {
	want := time.Duration(rand.New(rand.NewPCG(1, 2)).Int64N(int64(sec(8)) + 1))
	h := newHarness(t, Service{Key: tcpKey(vip), Servers: []Server{
		{Dest: dest(rs1, 1), Check: chk(10, 1, 0, 1, 8)},
	}}, &harnessOpts{rand: rand.New(rand.NewPCG(1, 2)).Int64N})
	h.takeEvents(false)
	h.probes[rs1].set(false)
	h.clk.blockUntil(t, 1)
	if next, _ := h.clk.next(); next.Sub(epoch) != want || want > sec(8) {
		t.Errorf("first attempt at %v, want %v", next.Sub(epoch), want)
	}
	h.runFor(sec(8))
	if got := h.takeEvents(false); len(got) == 0 || !strings.HasSuffix(got[0], "down "+rs1) {
		t.Errorf("events %q", got)
	}
}

// TestOmega: Stop runs notify_down of the alive servers and quorum_down
// under omega, nothing without it.
func TestOmega(t *testing.T) {
	for _, omega := range []bool{false, true} {
		h := newHarness(t, Service{Key: tcpKey(vip), Omega: omega, QuorumDown: []string{"qdown"}, Servers: []Server{
			{Dest: dest(rs1, 1), Check: chk(10, 1, 0, 1, 1), NotifyDown: []string{"down1"}},
			{Dest: dest(rs2, 1), Check: chk(10, 1, 0, 1, 2), NotifyDown: []string{"down2"}},
		}}, nil)
		h.probes[rs2].set(false)
		h.runFor(sec(3))
		h.takeNotifies()
		h.chk.Stop()
		h.mu.Lock()
		got := strings.Join(h.ran, ", ")
		h.mu.Unlock()
		want := ""
		if omega {
			want = "down1 | down, qdown | quorum-down"
		}
		if got != want {
			t.Errorf("omega=%v: at stop ran %q, want %q", omega, got, want)
		}
		// The director is left as it is.
		h.wantTable(rs1 + "=1")
	}
}

// TestStartMissingService: the director must have the service.
func TestStartMissingService(t *testing.T) {
	clk := newFakeClock()
	_, ctl := newDirector(t, clk, tcpKey(vip), nil, nil)
	c, err := New(ctl, []Service{{Key: tcpKey("10.0.0.2:80"), Servers: []Server{{Dest: dest(rs1, 1)}}}}, &Options{Clock: clk, Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Start(context.Background())
	if !errors.Is(err, ipvs.ErrNoService) {
		t.Errorf("Start: %v, want ErrNoService", err)
	}
	c.Stop()
}

// TestApplyErrorHeals: a transition the director refuses (its service is
// gone) is reported, and applied by a later attempt once the service is
// back.
func TestApplyErrorHeals(t *testing.T) {
	h := newHarness(t, Service{Key: tcpKey(vip), Servers: []Server{
		{Dest: dest(rs1, 1), Check: chk(10, 1, 0, 1, 1)},
		{Dest: dest(rs2, 1), Check: chk(10, 1, 0, 1, 2)},
	}}, nil)
	h.runFor(0)
	h.takeEvents(false)
	if err := h.d.DelService(h.key); err != nil {
		t.Fatal(err)
	}
	h.probes[rs1].set(false)
	h.runFor(sec(1))
	got := h.takeEvents(false)
	if len(got) != 2 || got[0] != "1s down "+rs1 || !strings.HasPrefix(got[1], "1s apply-error") {
		t.Errorf("events %q, want down then apply-error", got)
	}
	if e := h.chk.Status().Services[0].ApplyError; !strings.Contains(e, "no such service") && !strings.Contains(e, ipvs.ErrNoService.Error()) {
		t.Errorf("status apply error %q", e)
	}
	if err := h.d.AddService(ipvs.ServiceConfig{ServiceKey: h.key, Scheduler: "rr"}); err != nil {
		t.Fatal(err)
	}
	h.runFor(sec(1)) // rs2's attempt at 2 s, no transition
	h.wantTable(rs2 + "=1")
	if e := h.chk.Status().Services[0].ApplyError; e != "" {
		t.Errorf("apply error %q after the director healed", e)
	}
}

// TestNewRejects: invalid services fail with their name.
func TestNewRejects(t *testing.T) {
	ctl := func() Applier { _, c := newDirector(t, newFakeClock(), tcpKey(vip), nil, nil); return c }()
	for _, tc := range []struct {
		name string
		svc  Service
		want string
	}{
		{"duplicate", Service{Key: tcpKey(vip), Servers: []Server{{Dest: dest(rs1, 1)}, {Dest: dest(rs1, 2)}}}, "listed twice"},
		{"no probe", Service{Key: tcpKey(vip), Servers: []Server{{Dest: dest(rs1, 1), Check: &Check{}}}}, "no probe"},
		{"negative retries", Service{Key: tcpKey(vip), Servers: []Server{{Dest: dest(rs1, 1), Check: &Check{Probe: &TCP{}, Retries: -1}}}}, "negative"},
		{"negative weight", Service{Key: tcpKey(vip), Servers: []Server{{Dest: dest(rs1, -1)}}}, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(ctl, []Service{tc.svc}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "TCP "+vip) {
				t.Errorf("New: %v, want an error naming the service with %q", err, tc.want)
			}
		})
	}
}

// TestStatusJSON: the status serves as JSON at GET /v1/health, with a
// history ring of HistorySize entries.
func TestStatusJSON(t *testing.T) {
	clk := newFakeClock()
	d, ctl := newDirector(t, clk, tcpKey(vip), nil, nil)
	_ = d
	p := &fakeProbe{name: rs1, healthy: true}
	c, err := New(ctl, []Service{{Key: tcpKey(vip), Servers: []Server{
		{Dest: dest(rs1, 1), Check: &Check{Probe: p, Interval: time.Second, Timeout: time.Second}},
	}}}, &Options{Clock: clk, Log: quietLog(), HistorySize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	for i := range 6 {
		clk.blockUntil(t, 1)
		p.set(i%2 == 1)
		next, _ := clk.next()
		clk.advanceTo(next)
	}
	clk.blockUntil(t, 1)
	rec := httptest.NewRecorder()
	c.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/health", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /v1/health: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var st Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	sv := st.Services[0].Servers[0]
	if len(sv.History) != 3 || sv.History[2].State != sv.State || !sv.History[0].At.Before(sv.History[2].At) {
		t.Errorf("history %+v, state %s: want the last 3, oldest first", sv.History, sv.State)
	}
	if sv.Check != "fake "+rs1 || sv.LastError != "refused" || sv.Checks != 7 {
		t.Errorf("server status %+v", sv)
	}
	if !strings.Contains(rec.Body.String(), `"consecutive_failures"`) {
		t.Errorf("JSON %s", rec.Body.String())
	}
	rec = httptest.NewRecorder()
	c.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/health", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
}

// TestBounds pins the detection bounds the integration tests use.
func TestBounds(t *testing.T) {
	c := Check{Interval: sec(2), Timeout: sec(1), Retries: 3, DelayBeforeRetry: sec(0.5)}
	if got := c.FailureBound(); got != sec(2+1.5+4) {
		t.Errorf("FailureBound %v", got)
	}
	if got := c.RecoveryBound(); got != sec(3) {
		t.Errorf("RecoveryBound %v", got)
	}
	if got := (Check{}).FailureBound(); got != DefaultInterval+DefaultTimeout {
		t.Errorf("default FailureBound %v", got)
	}
}
