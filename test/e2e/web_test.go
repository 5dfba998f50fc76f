package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// webOutputDir is where the test leaves its screenshot and logs:
// $GOLVS_TEST_OUTPUT when set, else a temporary directory.
func webOutputDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("GOLVS_TEST_OUTPUT"); d != "" {
		d = filepath.Join(d, t.Name())
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func webGoTool(t *testing.T) string {
	t.Helper()
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); runtime.GOROOT() != "" {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("go tool not found")
	}
	return p
}

// webFreePort returns a loopback port that was free a moment ago.
func webFreePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// webDaemon is a running daemon.
type webDaemon struct {
	cmd     *exec.Cmd
	web     string // http://127.0.0.1:port
	vip     string // demo service address
	logPath string
}

// webStartDaemon builds golvsd into dir and runs it with the demo and the web
// view on free loopback ports.
func webStartDaemon(ctx context.Context, t *testing.T, dir, out string) *webDaemon {
	t.Helper()
	bin := filepath.Join(dir, "golvsd")
	build := exec.CommandContext(ctx, webGoTool(t), "build", "-o", bin, "github.com/golvs/golvs/cmd/golvsd")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build golvsd: %v\n%s", err, b)
	}
	webPort, demoPort := webFreePort(t), webFreePort(t)
	g := &webDaemon{
		web:     fmt.Sprintf("http://127.0.0.1:%d", webPort),
		vip:     fmt.Sprintf("127.0.0.1:%d", demoPort),
		logPath: filepath.Join(out, "golvsd.log"),
	}
	logf, err := os.Create(g.logPath)
	if err != nil {
		t.Fatal(err)
	}
	g.cmd = exec.Command(bin, "-demo=true", "-http", fmt.Sprintf("127.0.0.1:%d", webPort),
		"-demo-listen", g.vip, "-socket", filepath.Join(dir, "golvsd.sock"), "-events", "1s")
	g.cmd.Stdout, g.cmd.Stderr = logf, logf
	g.cmd.WaitDelay = 5 * time.Second
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- g.cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		g.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			g.cmd.Process.Kill()
			<-exited
		}
	})
	// Bounded wait for the web view to list the demo service.
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var svcs []struct{ Port int }
		if err := webGetJSON(ctx, g.web+"/v1/services", &svcs); err == nil && len(svcs) > 0 && svcs[0].Port == demoPort {
			return g
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(g.logPath)
			t.Fatalf("golvsd exited: %v\n%s", err, webTail(string(b), 3000))
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(g.logPath)
			t.Fatalf("golvsd's web view did not list the demo service within 30 s\n%s", webTail(string(b), 3000))
		}
	}
}

func webGetJSON(ctx context.Context, url string, out any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	cl := http.Client{Timeout: 5 * time.Second}
	res, err := cl.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(out)
}

// webTraffic opens TCP connections to vip from 127.0.0.2..127.0.0.9 until ctx
// ends or max connections were made, at most one every 20 ms.
func webTraffic(ctx context.Context, vip string, max int, served *atomic.Int64) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < max; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%8))}, Timeout: 2 * time.Second}
		c, err := d.DialContext(ctx, "tcp", vip)
		if err != nil {
			continue
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if b, _ := io.ReadAll(c); strings.HasPrefix(string(b), "hello from backend-") {
			served.Add(1)
		}
		c.Close()
	}
}

// TestWebViewInBrowser runs golvsd with its demo and the web view, sends
// connections through the demo service, and drives the page in headless
// Chromium: the counters move between two reads, the templates pin the
// clients, Explain answers with the kernel's steps; a screenshot is saved.
func TestWebViewInBrowser(t *testing.T) {
	chromium := webChromiumPath(t)
	if testing.Short() {
		t.Skip("builds and runs golvsd and Chromium")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	out := webOutputDir(t)
	g := webStartDaemon(ctx, t, dir, out)

	tctx, stopTraffic := context.WithCancel(ctx)
	var served atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); webTraffic(tctx, g.vip, 5000, &served) }()
	defer func() { stopTraffic(); wg.Wait() }()

	b := webStartBrowser(ctx, t, chromium, dir)
	page := b.newPage(ctx, t)
	for _, m := range []string{"Page.enable", "Runtime.enable"} {
		if err := page.call(ctx, m, map[string]any{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := page.call(ctx, "Page.navigate", map[string]any{"url": g.web + "/?interval=0.5"}, nil); err != nil {
		t.Fatal(err)
	}
	page.waitJS(ctx, t, 30*time.Second, `window.golvs && window.golvs.refreshes > 0`, "first refresh of the page")

	svcSel := fmt.Sprintf(`tr.svc[data-service="TCP %s"]`, g.vip)
	conns := func() int {
		t.Helper()
		var s string
		if err := page.eval(ctx, `document.querySelector('`+svcSel+` td[data-col="conns"]').textContent`, &s); err != nil {
			t.Fatalf("read the service's connections: %v", err)
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("service connections cell: %q", s)
		}
		return n
	}
	// The demo's own six connections are counted after the first 2 s tick.
	page.waitJS(ctx, t, 30*time.Second, `Number(document.querySelector('`+svcSel+` td[data-col="conns"]').textContent) > 0`, "service connections counted")
	first := conns()
	page.waitJS(ctx, t, 30*time.Second, fmt.Sprintf(`Number(document.querySelector('%s td[data-col="conns"]').textContent) > %d`, svcSel, first),
		"service connections moving")
	second := conns()
	t.Logf("service connections: %d, then %d (%d connections served)", first, second, served.Load())
	if served.Load() == 0 {
		t.Error("no connection was served through the demo service")
	}
	// Totals and rates are shown too; the estimator's rate becomes non-zero.
	page.waitJS(ctx, t, 30*time.Second, `Number(document.getElementById("tot-inpps").textContent) > 0`, "packet rate shown")
	// Three real servers with the health column, and templates pinning
	// the 127.0.0.x clients.
	var rs int
	if err := page.eval(ctx, `document.querySelectorAll('tr.rs[data-service="TCP `+g.vip+`"]').length`, &rs); err != nil || rs != 3 {
		t.Errorf("real server rows: %d (%v), want 3", rs, err)
	}
	page.waitJS(ctx, t, 30*time.Second, `[...document.querySelectorAll("#templates tr.tpl")].some(r => r.dataset.client === "127.0.0.2/32")`,
		"template of client 127.0.0.2 listed")

	// Explain: a new connection from 127.0.0.2 reuses its template.
	explain := fmt.Sprintf(`(() => {
		document.getElementById("ex-proto").value = "tcp";
		document.getElementById("ex-client").value = "127.0.0.2:45678";
		document.getElementById("ex-virtual").value = %q;
		document.getElementById("explain-result").replaceChildren();
		document.getElementById("ex-go").click();
		return true;
	})()`, g.vip)
	if err := page.eval(ctx, explain, nil); err != nil {
		t.Fatal(err)
	}
	page.waitJS(ctx, t, 15*time.Second, `document.getElementById("ex-verdict") !== null`, "Explain answer")
	var ex struct {
		Verdict, Outcome string
		Steps            []string
	}
	if err := page.eval(ctx, `({Verdict: document.getElementById("ex-verdict").textContent,
		Outcome: document.getElementById("ex-outcome").textContent,
		Steps: [...document.querySelectorAll("#ex-steps li")].map(li => li.textContent)})`, &ex); err != nil {
		t.Fatal(err)
	}
	t.Logf("Explain: %s, %s; steps:\n  %s", ex.Verdict, ex.Outcome, strings.Join(ex.Steps, "\n  "))
	all := strings.Join(ex.Steps, "\n")
	if ex.Verdict != "forward" || ex.Outcome != "template hit" ||
		!strings.Contains(all, "ip_vs_service_find") || !strings.Contains(all, "ip_vs_check_template") || !strings.Contains(all, "ip_vs_conn_new") {
		t.Errorf("Explain answered %+v", ex)
	}
	// A bad request is reported in the page.
	bad := `(() => { document.getElementById("ex-virtual").value = "nowhere"; document.getElementById("ex-go").click(); return true; })()`
	if err := page.eval(ctx, bad, nil); err != nil {
		t.Fatal(err)
	}
	page.waitJS(ctx, t, 15*time.Second, `(document.getElementById("ex-error")||{}).textContent?.includes("want addr:port")`, "Explain error shown")
	// Put the good answer back for the screenshot.
	if err := page.eval(ctx, explain, nil); err != nil {
		t.Fatal(err)
	}
	page.waitJS(ctx, t, 15*time.Second, `document.getElementById("ex-verdict") !== null`, "Explain answer again")

	shot := filepath.Join(out, "web-view.png")
	if err := page.screenshot(ctx, shot); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10000 {
		t.Errorf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)

	// The same server answers /metrics, and mutations are refused.
	res, err := http.Get(g.web + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{"golvs_service_connections_total{", "golvs_dataplane_tcp_accepted_total ", "golvs_decisions_total{outcome=\"template_hit\"}"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	res, err = http.Post(g.web+"/v1/ipvsadm", "application/json", strings.NewReader(`{"args":["-C"]}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("POST /v1/ipvsadm on the web listener: %s, want 403", res.Status)
	}
	// The event log saw the demo's configuration.
	stopTraffic()
	wg.Wait()
	if l := webLinesWith(g.logPath, `msg="realserver added"`); len(l) != 3 {
		t.Errorf("event log: %d realserver added lines, want 3:\n%s", len(l), strings.Join(l, "\n"))
	}
}
