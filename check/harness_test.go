package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golvs/golvs/control"
	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
	"github.com/golvs/golvs/metrics"
)

// The controller is the checker's way to the director; the checker is a
// health source of the metrics and the web view.
var (
	_ Applier              = (*control.Controller)(nil)
	_ metrics.HealthSource = (*Checker)(nil)
)

// monoClock gives the controller a core time from a wall clock.
type monoClock struct{ c Clock }

func (m monoClock) Now() ipvs.Time { return ipvs.Time(m.c.Now().Sub(epoch)) }

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newDirector returns a director with one service (no dests) and its
// controller.
func newDirector(t testing.TB, clk Clock, key ipvs.ServiceKey, mod func(*ipvs.Settings), scfg func(*ipvs.ServiceConfig)) (*ipvs.Director, *control.Controller) {
	t.Helper()
	st := ipvs.DefaultSettings()
	if mod != nil {
		mod(&st)
	}
	d := ipvs.NewDirector(&ipvs.Config{Settings: &st, Schedulers: sched.New})
	sc := ipvs.ServiceConfig{ServiceKey: key, Scheduler: "rr"}
	if scfg != nil {
		scfg(&sc)
	}
	if err := d.AddService(sc); err != nil {
		t.Fatal(err)
	}
	return d, control.New(d, monoClock{clk}, nil, quietLog())
}

func tcpKey(s string) ipvs.ServiceKey {
	ap := netip.MustParseAddrPort(s)
	return ipvs.ServiceKey{Family: ipvs.AFInet, Protocol: ipvs.ProtoTCP, Addr: ap.Addr(), Port: ap.Port()}
}

func dest(s string, w int32) ipvs.DestConfig {
	ap := netip.MustParseAddrPort(s)
	return ipvs.DestConfig{Addr: ap.Addr(), Port: ap.Port(), Method: ipvs.FwdMasq, Weight: w}
}

// fakeProbe answers from its current health, or from a script of results
// first. It never blocks.
type fakeProbe struct {
	mu      sync.Mutex
	name    string
	healthy bool
	weight  int32 // with dynamic: every healthy answer sets it
	dynamic bool
	calls   int
}

func (p *fakeProbe) Probe(context.Context) Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if !p.healthy {
		return Result{Err: errors.New("refused")}
	}
	if p.dynamic {
		return Result{Weight: p.weight, WeightSet: true}
	}
	return Result{}
}

func (p *fakeProbe) String() string { return "fake " + p.name }

func (p *fakeProbe) set(healthy bool) {
	p.mu.Lock()
	p.healthy = healthy
	p.mu.Unlock()
}

func (p *fakeProbe) setWeight(w int32) {
	p.mu.Lock()
	p.healthy, p.dynamic, p.weight = true, true, w
	p.mu.Unlock()
}

// harness runs a checker on a fake clock against a real director.
type harness struct {
	t      *testing.T
	clk    *fakeClock
	d      *ipvs.Director
	key    ipvs.ServiceKey
	chk    *Checker
	probes map[string]*fakeProbe
	loops  int

	mu     sync.Mutex
	events []Event
	ran    []string // notify commands as "argv | GOLVS_EVENT"
}

type harnessOpts struct {
	settings func(*ipvs.Settings)
	svcCfg   func(*ipvs.ServiceConfig)
	rand     func(int64) int64
}

// newHarness builds the service of svc (whose checked servers get fake
// probes, healthy, named by their address) and starts the checker.
func newHarness(t *testing.T, svc Service, ho *harnessOpts) *harness {
	t.Helper()
	if ho == nil {
		ho = &harnessOpts{}
	}
	h := &harness{t: t, clk: newFakeClock(), key: svc.Key, probes: map[string]*fakeProbe{}}
	var ctl *control.Controller
	h.d, ctl = newDirector(t, h.clk, svc.Key, ho.settings, ho.svcCfg)
	for i := range svc.Servers {
		sv := &svc.Servers[i]
		if sv.Check == nil {
			continue
		}
		name := destName(sv.Dest)
		p := &fakeProbe{name: name, healthy: true}
		h.probes[name] = p
		ch := *sv.Check
		ch.Probe = p
		sv.Check = &ch
		h.loops++
	}
	rnd := ho.rand
	if rnd == nil {
		rnd = func(n int64) int64 { return n - 1 } // the whole warmup
	}
	var err error
	h.chk, err = New(ctl, []Service{svc}, &Options{
		Clock: h.clk, Rand: rnd, Log: quietLog(),
		OnEvent: func(e Event) {
			h.mu.Lock()
			h.events = append(h.events, e)
			h.mu.Unlock()
		},
		Runner: func(_ context.Context, argv, env []string) error {
			ev := ""
			for _, e := range env {
				if v, ok := strings.CutPrefix(e, "GOLVS_EVENT="); ok {
					ev = v
				}
			}
			h.mu.Lock()
			h.ran = append(h.ran, strings.Join(argv, " ")+" | "+ev)
			h.mu.Unlock()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.chk.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.chk.Stop)
	return h
}

// runFor advances the fake clock by d, step by step: before each step
// every loop is parked, so all effects of the previous step are done.
func (h *harness) runFor(d time.Duration) {
	h.t.Helper()
	until := h.clk.Now().Add(d)
	for {
		h.clk.blockUntil(h.t, h.loops)
		next, ok := h.clk.next()
		if !ok || next.After(until) {
			h.clk.advanceTo(until)
			h.clk.blockUntil(h.t, h.loops)
			return
		}
		h.clk.advanceTo(next)
	}
}

// elapsed is the fake time since the start.
func (h *harness) elapsed() time.Duration { return h.clk.Now().Sub(epoch) }

// takeEvents returns the events so far as "T kind server" lines (T in
// seconds since the start) and forgets them. Retry events are left out
// unless withRetry.
func (h *harness) takeEvents(withRetry bool) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, e := range h.events {
		if e.Kind == EventRetry && !withRetry {
			continue
		}
		s := fmt.Sprintf("%gs %s", e.Time.Sub(epoch).Seconds(), e.Kind)
		if e.Server != "" {
			s += " " + e.Server
		}
		if e.Kind == EventWeight || e.Kind == EventQuorumUp || e.Kind == EventQuorumDown {
			s += fmt.Sprintf(" w=%d", e.Weight)
		}
		out = append(out, s)
	}
	h.events = nil
	return out
}

// takeNotifies waits for the queued notify commands and returns them.
func (h *harness) takeNotifies() []string {
	h.chk.notify.idle()
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.ran
	h.ran = nil
	return out
}

// table returns the service's dests as "addr:port=weight", sorted.
func (h *harness) table() []string {
	si, err := h.d.Service(h.key)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, x := range si.Dests {
		out = append(out, fmt.Sprintf("%s=%d", netip.AddrPortFrom(x.Addr, x.Port), x.Weight))
	}
	sort.Strings(out)
	return out
}

func (h *harness) wantTable(want ...string) {
	h.t.Helper()
	sort.Strings(want)
	if got := h.table(); !slices.Equal(got, want) {
		h.t.Errorf("at %v director has %q, want %q", h.elapsed(), got, want)
	}
}

func (h *harness) wantEvents(withRetry bool, want ...string) {
	h.t.Helper()
	if got := h.takeEvents(withRetry); !slices.Equal(got, want) {
		h.t.Errorf("at %v events:\n got %q\nwant %q", h.elapsed(), got, want)
	}
}

func (h *harness) wantNotifies(want ...string) {
	h.t.Helper()
	if got := h.takeNotifies(); !slices.Equal(got, want) {
		h.t.Errorf("at %v notify commands:\n got %q\nwant %q", h.elapsed(), got, want)
	}
}
