package metrics_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
	"github.com/golvs/golvs/ipvsadm"
	"github.com/golvs/golvs/metrics"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// sample is one scraped series: name{label="value",...} with labels sorted.
type scrape map[string]float64

func key(name string, labels ...string) string {
	var kv []string
	for i := 0; i+1 < len(labels); i += 2 {
		kv = append(kv, labels[i]+"="+strconv.Quote(labels[i+1]))
	}
	sort.Strings(kv)
	return name + "{" + strings.Join(kv, ",") + "}"
}

func get(t *testing.T, url string) scrape {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, res.Status)
	}
	body, _ := io.ReadAll(res.Body)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	out := scrape{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var lv []string
			for _, l := range m.GetLabel() {
				lv = append(lv, l.GetName(), l.GetValue())
			}
			var v float64
			switch {
			case m.Counter != nil:
				v = m.Counter.GetValue()
			case m.Gauge != nil:
				v = m.Gauge.GetValue()
			case m.Untyped != nil:
				v = m.Untyped.GetValue()
			default:
				continue
			}
			out[key(name, lv...)] = v
		}
	}
	return out
}

func (s scrape) want(t *testing.T, what string, want float64, name string, labels ...string) {
	t.Helper()
	k := key(name, labels...)
	got, ok := s[k]
	if !ok {
		t.Errorf("%s: no series %s", what, k)
		return
	}
	if got != want {
		t.Errorf("%s: %s = %v, want %v", what, k, got, want)
	}
}

func adm(t *testing.T, d *ipvs.Director, now ipvs.Time, args ...string) string {
	t.Helper()
	var o, e bytes.Buffer
	if st := ipvsadm.Run(d, args, strings.NewReader(""), &o, &e, now); st != 0 {
		t.Fatalf("ipvsadm %s: %d %s", strings.Join(args, " "), st, e.String())
	}
	return o.String()
}

// listing is an ipvsadm listing's numbers by line name: "TCP 10.0.0.1:80"
// for services, "TCP 10.0.0.1:80 -> 10.8.0.1:80" for real servers.
type listing map[string][]uint64

// parseListing reads the number columns of an ipvsadm listing, skipping
// the first skip fields of each line after the name.
func parseListing(t *testing.T, out string, skip int) listing {
	t.Helper()
	l := listing{}
	var svc string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(line, "IP Virtual") || strings.HasPrefix(line, "Prot") || line == "  -> RemoteAddress:Port" {
			continue
		}
		var name string
		var nums []string
		if f[0] == "->" {
			name, nums = svc+" -> "+f[1], f[2:]
		} else {
			svc = f[0] + " " + f[1]
			name, nums = svc, f[2:]
		}
		for _, n := range nums[min(skip, len(nums)):] {
			v, err := strconv.ParseUint(n, 10, 64)
			if err != nil {
				continue // scheduler names and flags on -L -n service lines
			}
			l[name] = append(l[name], v)
		}
	}
	return l
}

// labelsOf turns a listing name into the metric labels.
func labelsOf(t *testing.T, name string) (svc []string, server string) {
	t.Helper()
	parts := strings.SplitN(name, " -> ", 2)
	f := strings.Fields(parts[0])
	if f[0] == "FWM" {
		svc = []string{"family", "ipv4", "protocol", "fwm", "vip", "", "vport", "", "fwmark", f[1]}
	} else {
		ap := netip.MustParseAddrPort(f[1])
		svc = []string{"family", "ipv4", "protocol", strings.ToLower(f[0]), "vip", ap.Addr().String(), "vport", strconv.Itoa(int(ap.Port())), "fwmark", ""}
	}
	if len(parts) == 2 {
		server = parts[1]
	}
	return svc, server
}

type fakeHealth struct {
	mu sync.Mutex
	m  map[metrics.RealServer]metrics.Health
}

func (f *fakeHealth) Health() map[metrics.RealServer]metrics.Health {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[metrics.RealServer]metrics.Health{}
	for k, v := range f.m {
		out[k] = v
	}
	return out
}

var config = [][]string{
	{"-A", "-t", "10.0.0.1:80", "-s", "wlc"},
	{"-a", "-t", "10.0.0.1:80", "-r", "10.8.0.1:80", "-m", "-w", "1"},
	{"-a", "-t", "10.0.0.1:80", "-r", "10.8.0.2:80", "-m", "-w", "3"},
	{"-A", "-u", "10.0.0.2:53", "-s", "rr"},
	{"-a", "-u", "10.0.0.2:53", "-r", "10.8.0.3:53", "-m"},
	{"-A", "-f", "3", "-s", "rr", "-p", "60"},
	{"-a", "-f", "3", "-r", "10.8.0.4", "-m"},
	{"-A", "-t", "10.0.0.5:443", "-s", "rr", "-p", "30", "-M", "255.255.255.0"},
	{"-a", "-t", "10.0.0.5:443", "-r", "10.8.0.5:443", "-m"},
	{"-a", "-t", "10.0.0.5:443", "-r", "10.8.0.6:443", "-m", "-w", "2"},
}

// traffic sends packets until stop is closed: for each client a SYN, a
// NAT SYN|ACK reply and an ACK to the wlc service, a DNS datagram, a
// fwmark SYN and a SYN to the persistent service.
func traffic(d *ipvs.Director, clock *atomic.Int64, stop <-chan struct{}, sent *atomic.Int64) {
	tcp := func(src, dst netip.AddrPort, flags uint8, mark uint32, n int) ipvs.Result {
		return d.Process(&ipvs.Packet{Protocol: ipvs.ProtoTCP, Src: src.Addr(), SrcPort: src.Port(), Dst: dst.Addr(), DstPort: dst.Port(),
			TCPFlags: flags, Mark: mark, Len: n}, ipvs.Time(clock.Load()))
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + i%200)}), uint16(10000+i%50000))
		r := tcp(client, netip.MustParseAddrPort("10.0.0.1:80"), ipvs.TCPSyn, 0, 60)
		if r.Conn != nil {
			d.Process(&ipvs.Packet{Protocol: ipvs.ProtoTCP, Dir: ipvs.DirOut, Src: r.Conn.DestAddrPort().Addr(), SrcPort: r.Conn.DestAddrPort().Port(),
				Dst: client.Addr(), DstPort: client.Port(), TCPFlags: ipvs.TCPSyn | ipvs.TCPAck, Len: 60}, ipvs.Time(clock.Load()))
			tcp(client, netip.MustParseAddrPort("10.0.0.1:80"), ipvs.TCPAck, 0, 52+i%100)
		}
		d.Process(&ipvs.Packet{Protocol: ipvs.ProtoUDP, Src: client.Addr(), SrcPort: client.Port(), Dst: netip.MustParseAddr("10.0.0.2"), DstPort: 53, Len: 40 + i%30},
			ipvs.Time(clock.Load()))
		tcp(client, netip.MustParseAddrPort("10.0.0.9:25"), ipvs.TCPSyn, 3, 60)
		tcp(client, netip.MustParseAddrPort("10.0.0.5:443"), ipvs.TCPSyn, 0, 60)
		sent.Add(1)
	}
}

// TestScrapeMatchesIPVSAdm scrapes /metrics while traffic flows through a
// real director and compares every service's and real server's values
// with the ipvsadm listings of the same moment.
func TestScrapeMatchesIPVSAdm(t *testing.T) {
	d := ipvs.NewDirector(&ipvs.Config{Schedulers: sched.New})
	var clock atomic.Int64
	clock.Store(int64(time.Second))
	d.Advance(ipvs.Time(clock.Load()))
	for _, c := range config {
		adm(t, d, ipvs.Time(clock.Load()), c...)
	}
	svc80 := ipvs.ServiceKey{Protocol: ipvs.ProtoTCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	rs := func(k ipvs.ServiceKey, server string) metrics.RealServer {
		return metrics.RealServer{Service: k, Server: netip.MustParseAddrPort(server)}
	}
	health := &fakeHealth{m: map[metrics.RealServer]metrics.Health{
		rs(svc80, "10.8.0.1:80"):                     {Healthy: true},
		rs(svc80, "10.8.0.2:80"):                     {Healthy: false, Detail: "connect: refused"},
		rs(ipvs.ServiceKey{FWMark: 3}, "10.8.0.4:0"): {Healthy: true},
	}}
	dp := metrics.DataPlaneCounters{Accepted: 10, Forwarded: 8, Rejected: 2, DialErrors: 1, Errors: 3, ActiveFlows: 4, BytesIn: 100, BytesOut: 200, UDPIn: 5, UDPOut: 6, UDPDropped: 7, UDPSessions: 2}
	srv := httptest.NewServer(metrics.Handler(d, metrics.Options{
		Health:    health,
		DataPlane: metrics.DataPlaneFunc(func() metrics.DataPlaneCounters { return dp }),
	}))
	defer srv.Close()

	stop := make(chan struct{})
	var sent atomic.Int64
	done := make(chan struct{})
	go func() { defer close(done); traffic(d, &clock, stop, &sent) }()
	stopped := false
	stopTraffic := func() {
		if !stopped {
			stopped = true
			close(stop)
			<-done
		}
	}
	defer stopTraffic()

	waitSent := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for sent.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("traffic: %d rounds sent, want %d", sent.Load(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}

	// compareStats checks the folded statistics and rates. They change only
	// in Advance, which only this goroutine calls, so the scrape and the
	// listings see the same values while packets keep flowing.
	compareStats := func(round int) scrape {
		t.Helper()
		now := ipvs.Time(clock.Load())
		s := get(t, srv.URL)
		stats := parseListing(t, adm(t, d, now, "-L", "-n", "--stats", "--exact"), 0)
		rate := parseListing(t, adm(t, d, now, "-L", "-n", "--rate", "--exact"), 0)
		if len(stats) != 10 {
			t.Fatalf("round %d: --stats listing has %d lines: %v", round, len(stats), stats)
		}
		for name, v := range stats {
			svc, server := labelsOf(t, name)
			prefix, lv := "golvs_service_", svc
			if server != "" {
				prefix, lv = "golvs_realserver_", append(append([]string{}, svc...), "server", server)
			}
			what := fmt.Sprintf("round %d %s", round, name)
			dir := func(d string) []string { return append(append([]string{}, lv...), "direction", d) }
			s.want(t, what, float64(v[0]), prefix+"connections_total", lv...)
			s.want(t, what, float64(v[1]), prefix+"packets_total", dir("in")...)
			s.want(t, what, float64(v[2]), prefix+"packets_total", dir("out")...)
			s.want(t, what, float64(v[3]), prefix+"bytes_total", dir("in")...)
			s.want(t, what, float64(v[4]), prefix+"bytes_total", dir("out")...)
			r := rate[name]
			s.want(t, what, float64(r[0]), prefix+"connections_per_second", lv...)
			s.want(t, what, float64(r[1]), prefix+"packets_per_second", dir("in")...)
			s.want(t, what, float64(r[2]), prefix+"packets_per_second", dir("out")...)
			s.want(t, what, float64(r[3]), prefix+"bytes_per_second", dir("in")...)
			s.want(t, what, float64(r[4]), prefix+"bytes_per_second", dir("out")...)
		}
		tot := d.TotalStats()
		s.want(t, "totals", float64(tot.Conns), "golvs_connections_total")
		s.want(t, "totals", float64(tot.InPkts), "golvs_packets_total", "direction", "in")
		s.want(t, "totals", float64(tot.OutBytes), "golvs_bytes_total", "direction", "out")
		s.want(t, "totals", float64(tot.InPPS), "golvs_packets_per_second", "direction", "in")
		return s
	}

	tcp80 := []string{"family", "ipv4", "protocol", "tcp", "vip", "10.0.0.1", "vport", "80", "fwmark", ""}
	var prev float64
	for round := 1; round <= 3; round++ {
		waitSent(int64(round) * 200)
		clock.Add(int64(2 * time.Second))
		d.Advance(ipvs.Time(clock.Load()))
		s := compareStats(round)
		conns := s[key("golvs_service_connections_total", tcp80...)]
		if conns <= prev {
			t.Errorf("round %d: connections of TCP 10.0.0.1:80 did not grow: %v -> %v", round, prev, conns)
		}
		prev = conns
	}
	stopTraffic()
	clock.Add(int64(2 * time.Second))
	d.Advance(ipvs.Time(clock.Load()))
	s := compareStats(4)

	// Connection counters and weights, now that nothing moves.
	now := ipvs.Time(clock.Load())
	list := parseListing(t, adm(t, d, now, "-L", "-n"), 0)
	pc := parseListing(t, adm(t, d, now, "-L", "-n", "--persistent-conn"), 0)
	var templates float64
	for name, v := range list {
		svc, server := labelsOf(t, name)
		if server == "" {
			if strings.Contains(name, "FWM") || strings.Contains(name, ":443") {
				timeout := 60.0
				if strings.Contains(name, ":443") {
					timeout = 30
				}
				s.want(t, name, timeout, "golvs_service_persistence_timeout_seconds", svc...)
			}
			continue
		}
		lv := append(append([]string{}, svc...), "server", server)
		// -L -n real server line: Forward Weight ActiveConn InActConn ("Masq" is skipped)
		s.want(t, name, float64(v[0]), "golvs_realserver_weight", lv...)
		s.want(t, name, float64(v[1]), "golvs_realserver_active_connections", lv...)
		s.want(t, name, float64(v[2]), "golvs_realserver_inactive_connections", lv...)
		s.want(t, name, float64(pc[name][1]), "golvs_realserver_persistent_connections", lv...)
		s.want(t, name, 1, "golvs_realserver_info", append(append([]string{}, lv...), "forward", "masq")...)
		templates += float64(pc[name][1])
	}
	if templates == 0 {
		t.Error("no templates in the persistent-conn listing")
	}
	s.want(t, "templates", templates, "golvs_connection_table_templates")
	entries := strings.Count(adm(t, d, now, "-L", "-n", "-c"), "\n") - 2 // two title lines
	s.want(t, "entries", float64(entries), "golvs_connection_table_entries")
	s.want(t, "entries", float64(d.ConnCount()), "golvs_connection_table_entries")
	s.want(t, "services", 4, "golvs_services")
	s.want(t, "realservers", 2, "golvs_service_realservers", tcp80...)
	s.want(t, "scheduler", 1, "golvs_service_info", append(append([]string{}, tcp80...), "scheduler", "wlc")...)

	cn := d.Counters()
	for _, o := range []struct {
		name string
		v    uint64
	}{{"scheduled", cn.Scheduled.Load()}, {"template_hit", cn.TemplateHit.Load()}, {"template_miss", cn.TemplateMiss.Load()},
		{"no_destination", cn.NoDest.Load()}, {"table_full", cn.TableFull.Load()}} {
		s.want(t, "decisions", float64(o.v), "golvs_decisions_total", "outcome", o.name)
	}
	if cn.TemplateHit.Load() == 0 || cn.TemplateMiss.Load() == 0 {
		t.Errorf("traffic made no template hits or misses: %d %d", cn.TemplateHit.Load(), cn.TemplateMiss.Load())
	}

	h := append(append([]string{}, tcp80...), "server", "10.8.0.1:80")
	s.want(t, "health", 1, "golvs_realserver_healthy", h...)
	h = append(append([]string{}, tcp80...), "server", "10.8.0.2:80")
	s.want(t, "health", 0, "golvs_realserver_healthy", h...)
	s.want(t, "health", 1, "golvs_realserver_healthy", "family", "ipv4", "protocol", "fwm", "vip", "", "vport", "", "fwmark", "3", "server", "10.8.0.4:0")
	if _, ok := s[key("golvs_realserver_healthy", "family", "ipv4", "protocol", "udp", "vip", "10.0.0.2", "vport", "53", "fwmark", "", "server", "10.8.0.3:53")]; ok {
		t.Error("health reported for a real server the health source does not know")
	}

	s.want(t, "dataplane", 10, "golvs_dataplane_tcp_accepted_total")
	s.want(t, "dataplane", 1, "golvs_dataplane_dial_errors_total")
	s.want(t, "dataplane", 3, "golvs_dataplane_errors_total")
	s.want(t, "dataplane", 4, "golvs_dataplane_tcp_active_flows")
	s.want(t, "dataplane", 200, "golvs_dataplane_payload_bytes_total", "direction", "out")
	s.want(t, "dataplane", 7, "golvs_dataplane_udp_dropped_total")

	// -Z: the counters restart (a counter reset for Prometheus).
	adm(t, d, now, "-Z")
	s = get(t, srv.URL)
	s.want(t, "after -Z", 0, "golvs_service_connections_total", tcp80...)
	s.want(t, "after -Z", 0, "golvs_connections_total")
}

// TestTableFull: refusals of a bounded table show in the table and
// decision metrics.
func TestTableFull(t *testing.T) {
	st := ipvs.DefaultSettings()
	st.MaxConns = 3
	d := ipvs.NewDirector(&ipvs.Config{Settings: &st, Schedulers: sched.New})
	d.Advance(1)
	adm(t, d, 1, "-A", "-t", "10.0.0.1:80", "-s", "rr")
	adm(t, d, 1, "-a", "-t", "10.0.0.1:80", "-r", "10.8.0.1:80", "-m")
	for i := range 5 {
		d.Process(&ipvs.Packet{Protocol: ipvs.ProtoTCP, Src: netip.MustParseAddr("192.0.2.1"), SrcPort: uint16(1000 + i),
			Dst: netip.MustParseAddr("10.0.0.1"), DstPort: 80, TCPFlags: ipvs.TCPSyn, Len: 60}, 1)
	}
	srv := httptest.NewServer(metrics.Handler(d, metrics.Options{}))
	defer srv.Close()
	s := get(t, srv.URL)
	s.want(t, "limit", 3, "golvs_connection_table_limit_entries")
	s.want(t, "entries", 3, "golvs_connection_table_entries")
	s.want(t, "refused", 2, "golvs_connection_table_refused_total")
	s.want(t, "refused", 2, "golvs_decisions_total", "outcome", "table_full")
	for k := range s {
		if strings.HasPrefix(k, "golvs_dataplane_") || strings.HasPrefix(k, "golvs_realserver_healthy") {
			t.Errorf("optional series without its source: %s", k)
		}
	}
}

// TestLint runs the Prometheus linter on every metric, with the optional
// sources set.
func TestLint(t *testing.T) {
	d := ipvs.NewDirector(&ipvs.Config{Schedulers: sched.New})
	for _, c := range config {
		adm(t, d, 0, c...)
	}
	c := metrics.NewCollector(d, metrics.Options{
		Health:    &fakeHealth{m: map[metrics.RealServer]metrics.Health{{Service: ipvs.ServiceKey{FWMark: 3}, Server: netip.MustParseAddrPort("10.8.0.4:0")}: {Healthy: true}}},
		DataPlane: metrics.DataPlaneFunc(func() metrics.DataPlaneCounters { return metrics.DataPlaneCounters{} }),
	})
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
	if n := testutil.CollectAndCount(c); n < 100 {
		t.Errorf("only %d series", n)
	}
}

func TestServiceLabels(t *testing.T) {
	for _, tc := range []struct {
		k    ipvs.ServiceKey
		want string
	}{
		{ipvs.ServiceKey{Family: ipvs.AFInet, Protocol: ipvs.ProtoTCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}, "ipv4 tcp 10.0.0.1 80 "},
		{ipvs.ServiceKey{Family: ipvs.AFInet6, Protocol: ipvs.ProtoUDP, Addr: netip.MustParseAddr("2001:db8::1"), Port: 53}, "ipv6 udp 2001:db8::1 53 "},
		{ipvs.ServiceKey{Family: ipvs.AFInet6, Protocol: ipvs.ProtoTCP, FWMark: 7}, "ipv6 fwm   7"},
	} {
		if got := strings.Join(metrics.ServiceLabels(tc.k), " "); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.k, got, tc.want)
		}
	}
	a := metrics.RealServer{Service: ipvs.ServiceKey{Protocol: ipvs.ProtoTCP, Addr: netip.MustParseAddr("::ffff:10.0.0.1"), Port: 80}, Server: netip.MustParseAddrPort("[::ffff:10.8.0.1]:80")}
	b := metrics.RealServer{Service: ipvs.ServiceKey{Family: ipvs.AFInet, Protocol: ipvs.ProtoTCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}, Server: netip.MustParseAddrPort("10.8.0.1:80")}
	if a.Normalize() != b.Normalize() {
		t.Errorf("Normalize: %+v != %+v", a.Normalize(), b.Normalize())
	}
	if metrics.NormalizeKey(ipvs.ServiceKey{FWMark: 3}) != metrics.NormalizeKey(ipvs.ServiceKey{Family: ipvs.AFInet, Protocol: ipvs.ProtoTCP, FWMark: 3}) {
		t.Error("fwmark keys differ")
	}
}
