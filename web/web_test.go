package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golvs/golvs/control"
	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
	"github.com/golvs/golvs/metrics"
	"github.com/golvs/golvs/web"
)

type testClock struct{ t atomic.Int64 }

func (c *testClock) Now() ipvs.Time { return ipvs.Time(c.t.Load()) }

type health map[metrics.RealServer]metrics.Health

func (h health) Health() map[metrics.RealServer]metrics.Health { return h }

// newServer is a web view of a director with a persistent TCP service,
// one real server and one client connection, folded by a tick.
func newServer(t *testing.T, opts web.Options) (*httptest.Server, *ipvs.Director) {
	t.Helper()
	d := ipvs.NewDirector(&ipvs.Config{Schedulers: sched.New})
	clock := &testClock{}
	clock.t.Store(int64(time.Second))
	ctl := control.New(d, clock, nil, nil)
	for _, args := range [][]string{
		{"-A", "-t", "10.0.0.1:80", "-s", "rr", "-p", "120", "-M", "255.255.255.0"},
		{"-a", "-t", "10.0.0.1:80", "-r", "10.8.0.1:80", "-m", "-w", "2"},
	} {
		if _, e, st := ctl.IPVSAdm(args, ""); st != 0 {
			t.Fatalf("ipvsadm %v: %s", args, e)
		}
	}
	now := clock.Now()
	d.Process(&ipvs.Packet{Protocol: ipvs.ProtoTCP, Src: netip.MustParseAddr("192.0.2.7"), SrcPort: 40000,
		Dst: netip.MustParseAddr("10.0.0.1"), DstPort: 80, TCPFlags: ipvs.TCPSyn, Len: 60}, now)
	clock.t.Add(int64(2 * time.Second))
	d.Advance(clock.Now())
	srv := httptest.NewServer(web.New(ctl, opts))
	t.Cleanup(srv.Close)
	return srv, d
}

func fetch(t *testing.T, method, url, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestPageAndStatic(t *testing.T) {
	srv, _ := newServer(t, web.Options{})
	for _, tc := range []struct {
		path, ctype, contains string
	}{
		{"/", "text/html", `<script src="/static/app.js"`},
		{"/static/app.js", "javascript", "/v1/explain"},
		{"/static/style.css", "text/css", ".badge"},
		{"/static/index.html", "text/html", "golvs"},
	} {
		res, body := fetch(t, "GET", srv.URL+tc.path, "")
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s: %s %q, body has %q: %v", tc.path, res.Status, res.Header.Get("Content-Type"), tc.contains, strings.Contains(body, tc.contains))
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", tc.path, csp)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", tc.path)
		}
	}
	for _, p := range []string{"/nope", "/static/nope.js", "/v1/nope"} {
		if res, _ := fetch(t, "GET", srv.URL+p, ""); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", p, res.Status)
		}
	}
}

// TestReadOnlyAPI: the controller's read endpoints are mounted, the
// mutating one is refused, so a client of the web port cannot change the
// director.
func TestReadOnlyAPI(t *testing.T) {
	srv, d := newServer(t, web.Options{})
	res, body := fetch(t, "GET", srv.URL+"/v1/services", "")
	var svcs []ipvs.ServiceInfo
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &svcs) != nil || len(svcs) != 1 {
		t.Fatalf("GET /v1/services: %s %s", res.Status, body)
	}
	if s := svcs[0]; s.Port != 80 || len(s.Dests) != 1 || s.Dests[0].Weight != 2 || s.Stats.Conns != 1 || s.Stats.InPkts != 1 {
		t.Errorf("services: %+v", s)
	}
	res, body = fetch(t, "GET", srv.URL+"/v1/connections", "")
	var conns []ipvs.ConnInfo
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &conns) != nil || len(conns) != 2 {
		t.Fatalf("GET /v1/connections: %s %s", res.Status, body)
	}
	var tpl *ipvs.ConnInfo
	for i := range conns {
		if conns[i].Template {
			tpl = &conns[i]
		}
	}
	if tpl == nil || tpl.Client.Addr() != netip.MustParseAddr("192.0.2.0") || tpl.Dest != netip.MustParseAddrPort("10.8.0.1:80") {
		t.Errorf("template: %+v", tpl)
	}

	res, body = fetch(t, "POST", srv.URL+"/v1/explain", `{"protocol":"tcp","client":"192.0.2.99:5000","virtual":"10.0.0.1:80"}`)
	var ex ipvs.Explanation
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &ex) != nil {
		t.Fatalf("POST /v1/explain: %s %s", res.Status, body)
	}
	if ex.Verdict != ipvs.VerdictForward || ex.Outcome != ipvs.ReasonTemplateHit || !ex.TemplateFound || len(ex.Steps) < 3 {
		t.Errorf("explain: %+v", ex)
	}
	if res, body := fetch(t, "POST", srv.URL+"/v1/explain", `{"client":"x","virtual":"10.0.0.1:80"}`); res.StatusCode != 400 || !strings.Contains(body, "want addr:port") {
		t.Errorf("bad explain: %s %s", res.Status, body)
	}

	for _, p := range []string{"/v1/ipvsadm", "/v1/reload"} {
		for _, m := range []string{"POST", "GET"} {
			res, body := fetch(t, m, srv.URL+p, `{"args":["-C"]}`)
			if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "read-only") {
				t.Errorf("%s %s: %s %s", m, p, res.Status, body)
			}
		}
	}
	if res, _ := fetch(t, "GET", srv.URL+"/v1/explain", ""); res.StatusCode == 200 {
		t.Error("GET /v1/explain answered")
	}
	if res, _ := fetch(t, "DELETE", srv.URL+"/v1/services", ""); res.StatusCode == 200 {
		t.Error("DELETE /v1/services answered")
	}
	if n := len(d.Services()); n != 1 {
		t.Errorf("the web port changed the director: %d services", n)
	}
}

func TestStatusMetaMetrics(t *testing.T) {
	svc := ipvs.ServiceKey{Protocol: ipvs.ProtoTCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80}
	srv, d := newServer(t, web.Options{
		Health: health{{Service: svc, Server: netip.MustParseAddrPort("10.8.0.1:80")}: {Healthy: false, Detail: "timeout"}},
		DataPlane: metrics.DataPlaneFunc(func() metrics.DataPlaneCounters {
			return metrics.DataPlaneCounters{Accepted: 3, DialErrors: 1}
		}),
	})
	res, body := fetch(t, "GET", srv.URL+"/ui/status", "")
	var st web.Status
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &st) != nil {
		t.Fatalf("GET /ui/status: %s %s", res.Status, body)
	}
	if st.Entries != d.ConnCount() || st.Entries != 2 || st.Templates != 1 || st.Totals.Conns != 1 {
		t.Errorf("status: %+v", st)
	}
	if len(st.Health) != 1 || st.Health[0].Service != "TCP 10.0.0.1:80" || st.Health[0].Server != "10.8.0.1:80" || st.Health[0].Healthy || st.Health[0].Detail != "timeout" {
		t.Errorf("health: %+v", st.Health)
	}
	if st.DataPlane == nil || st.DataPlane.Accepted != 3 {
		t.Errorf("data plane: %+v", st.DataPlane)
	}
	dec := map[string]uint64{}
	for _, o := range st.Decisions {
		dec[o.Name] = o.Count
	}
	if dec["template_miss"] != 1 || len(dec) != 8 {
		t.Errorf("decisions: %v", st.Decisions)
	}

	res, body = fetch(t, "GET", srv.URL+"/ui/meta", "")
	var m web.Meta
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &m) != nil {
		t.Fatalf("GET /ui/meta: %s %s", res.Status, body)
	}
	if len(m.Verdicts) != 5 || m.Verdicts[ipvs.VerdictForward] != "forward" {
		t.Errorf("verdicts: %v", m.Verdicts)
	}
	if int(ipvs.ReasonNoConn) >= len(m.Reasons) || m.Reasons[ipvs.ReasonTemplateHit].Name != ipvs.ReasonTemplateHit.String() ||
		m.Reasons[ipvs.ReasonNoDest].Func != "ip_vs_leave" {
		t.Errorf("reasons: %v", m.Reasons)
	}
	if len(m.TemplateKinds) != 4 || m.TemplateKinds[ipvs.TemplateFWMark] != "fwmark" {
		t.Errorf("template kinds: %v", m.TemplateKinds)
	}

	res, body = fetch(t, "GET", srv.URL+"/metrics", "")
	for _, want := range []string{
		`golvs_service_connections_total{family="ipv4",fwmark="",protocol="tcp",vip="10.0.0.1",vport="80"} 1`,
		`golvs_realserver_weight{family="ipv4",fwmark="",protocol="tcp",server="10.8.0.1:80",vip="10.0.0.1",vport="80"} 2`,
		`golvs_realserver_healthy{family="ipv4",fwmark="",protocol="tcp",server="10.8.0.1:80",vip="10.0.0.1",vport="80"} 0`,
		`golvs_dataplane_tcp_accepted_total 3`,
		`golvs_connection_table_templates 1`,
		`go_goroutines `,
	} {
		if res.StatusCode != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestPageIDs: every element the script looks up by id is in the page,
// except the ones it creates itself.
func TestPageIDs(t *testing.T) {
	js, err := os.ReadFile("static/app.js")
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile("static/index.html")
	if err != nil {
		t.Fatal(err)
	}
	created := map[string]bool{}
	for _, m := range regexp.MustCompile(`id: "([^"]+)"`).FindAllStringSubmatch(string(js), -1) {
		created[m[1]] = true
	}
	ids := regexp.MustCompile(`getElementById\("([^"]+)"\)|querySelector\("#([a-z-]+)`).FindAllStringSubmatch(string(js), -1)
	if len(ids) < 10 {
		t.Fatalf("only %d lookups found", len(ids))
	}
	for _, m := range ids {
		id := m[1] + m[2]
		if !created[id] && !strings.Contains(string(html), `id="`+id+`"`) {
			t.Errorf("app.js looks up #%s, which index.html lacks", id)
		}
	}
}
