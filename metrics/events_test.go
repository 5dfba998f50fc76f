package metrics_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
	"github.com/golvs/golvs/metrics"
)

type fixedClock struct{ t *ipvs.Time }

func (c fixedClock) Now() ipvs.Time { return *c.t }

// events decodes the JSON log lines written since the last call.
func events(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	buf.Reset()
	return out
}

func find(evs []map[string]any, msg string) []map[string]any {
	var out []map[string]any
	for _, e := range evs {
		if e["msg"] == msg {
			out = append(out, e)
		}
	}
	return out
}

func TestEventLog(t *testing.T) {
	d := ipvs.NewDirector(&ipvs.Config{Schedulers: sched.New})
	now := ipvs.Time(time.Second)
	d.Advance(now)
	adm(t, d, now, "-A", "-t", "10.0.0.1:80", "-s", "rr", "-p", "10")
	adm(t, d, now, "-a", "-t", "10.0.0.1:80", "-r", "10.8.0.1:80", "-m")
	var buf bytes.Buffer
	health := &fakeHealth{m: map[metrics.RealServer]metrics.Health{
		{Service: ipvs.ServiceKey{Protocol: ipvs.ProtoTCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}, Server: netip.MustParseAddrPort("10.8.0.1:80")}: {Healthy: true},
	}}
	el := metrics.NewEventLog(d, fixedClock{&now}, slog.New(slog.NewJSONHandler(&buf, nil)), health)
	el.Poll()
	if evs := events(t, &buf); len(find(evs, "initial configuration")) != 1 {
		t.Fatalf("first poll: %v", evs)
	}
	el.Poll()
	if evs := events(t, &buf); len(evs) != 0 {
		t.Errorf("nothing changed, yet: %v", evs)
	}

	// A reload: weight change, one real server added, one service added.
	adm(t, d, now, "-e", "-t", "10.0.0.1:80", "-r", "10.8.0.1:80", "-m", "-w", "5")
	adm(t, d, now, "-a", "-t", "10.0.0.1:80", "-r", "10.8.0.2:80", "-m")
	adm(t, d, now, "-A", "-u", "10.0.0.2:53")
	adm(t, d, now, "-A", "-t", "10.0.0.3:80")
	el.Poll()
	evs := events(t, &buf)
	w := find(evs, "realserver weight changed")
	if len(w) != 1 || w[0]["server"] != "10.8.0.1:80" || w[0]["old_weight"] != 1.0 || w[0]["weight"] != 5.0 || w[0]["service"] != "TCP 10.0.0.1:80" {
		t.Errorf("weight change: %v", w)
	}
	if a := find(evs, "realserver added"); len(a) != 1 || a[0]["server"] != "10.8.0.2:80" {
		t.Errorf("real server added: %v", a)
	}
	// in listing order, as ipvsadm sorts: TCP before UDP
	if a := find(evs, "service added"); len(a) != 2 || a[0]["service"] != "TCP 10.0.0.3:80" || a[1]["service"] != "UDP 10.0.0.2:53" {
		t.Errorf("service added: %v", a)
	}
	if c := find(evs, "configuration changed"); len(c) != 1 || c[0]["weights_changed"] != 1.0 || c[0]["realservers_added"] != 1.0 || c[0]["services_added"] != 2.0 {
		t.Errorf("summary: %v", c)
	}

	// Templates: three clients make three templates; they expire 10 s
	// after their connections (SYN_RECV, 60 s) went.
	for i := range 3 {
		d.Process(&ipvs.Packet{Protocol: ipvs.ProtoTCP, Src: netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}), SrcPort: 1000,
			Dst: netip.MustParseAddr("10.0.0.1"), DstPort: 80, TCPFlags: ipvs.TCPSyn, Len: 60}, now)
	}
	el.Poll()
	events(t, &buf)
	now += ipvs.Time(2 * time.Minute)
	d.Advance(now)
	el.Poll()
	evs = events(t, &buf)
	if x := find(evs, "templates expired"); len(x) != 1 || x[0]["count"] != 3.0 {
		t.Errorf("template expiry: %v", evs)
	}

	// Removal and health.
	adm(t, d, now, "-d", "-t", "10.0.0.1:80", "-r", "10.8.0.2:80")
	adm(t, d, now, "-D", "-u", "10.0.0.2:53")
	adm(t, d, now, "-D", "-t", "10.0.0.3:80")
	health.mu.Lock()
	for k := range health.m {
		health.m[k] = metrics.Health{Healthy: false}
	}
	health.mu.Unlock()
	el.Poll()
	evs = events(t, &buf)
	if r := find(evs, "realserver removed"); len(r) != 1 || r[0]["server"] != "10.8.0.2:80" {
		t.Errorf("real server removed: %v", r)
	}
	if r := find(evs, "service removed"); len(r) != 2 || r[0]["service"] != "TCP 10.0.0.3:80" {
		t.Errorf("service removed: %v", r)
	}
	if h := find(evs, "realserver health changed"); len(h) != 1 || h[0]["healthy"] != false || h[0]["level"] != "WARN" {
		t.Errorf("health: %v", h)
	}
}
