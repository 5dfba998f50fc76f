package e2e

// A minimal Chrome DevTools Protocol client for the web view's browser
// test: headless Chromium without sandbox, GPU, QUIC or background
// networking, one page target, commands over its websocket, no event handling beyond replies.

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// webCDPOrigin is the Origin the websocket sends (golang.org/x/net/websocket
// always sends one); Chromium accepts it through --remote-allow-origins.
const webCDPOrigin = "http://127.0.0.1"

// webChromiumPath finds Debian's chromium. Outside CI a missing browser skips
// the test; in CI (CI set) it fails it, since .ci/run installs the
// packages of APT-PACKAGES.
func webChromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "headless Chromium not found: install Debian's chromium package (listed in test/e2e/APT-PACKAGES, which .ci/run installs)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// webBrowser is a running headless Chromium.
type webBrowser struct {
	cmd     *exec.Cmd
	port    string
	stderr  *os.File
	profile string
}

// webStartBrowser starts chromium with remote debugging on a free port
// (--remote-debugging-port=0) and waits, bounded, for its
// DevToolsActivePort file.
func webStartBrowser(ctx context.Context, t *testing.T, path, dir string) *webBrowser {
	t.Helper()
	// The profile is not in t.TempDir: Chromium's helper processes may
	// still write there for a moment after the browser exits, which would
	// fail TempDir's cleanup; close removes it with a bounded retry.
	profile, err := os.MkdirTemp("", "golvs-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "chromium.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, path,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "--remote-debugging-port=0",
		"--remote-allow-origins="+webCDPOrigin, "--window-size=1400,1000", "about:blank")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.WaitDelay = 5 * time.Second
	// Its own process group, so that close ends the helpers too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(profile)
		t.Fatalf("start chromium: %v", err)
	}
	b := &webBrowser{cmd: cmd, stderr: logf, profile: profile}
	t.Cleanup(b.close)
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		data, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort"))
		if err == nil {
			if lines := strings.SplitN(string(data), "\n", 2); len(lines) == 2 && lines[0] != "" {
				b.port = strings.TrimSpace(lines[0])
				return b
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("chromium gave no DevTools port within 30 s; its output:\n%s", webTail(string(log), 2000))
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
}

// close ends the browser's process group (SIGTERM, then SIGKILL after a
// bounded wait) and removes its profile.
func (b *webBrowser) close() {
	pid := b.cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGTERM)
	exited := make(chan struct{})
	go func() { b.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	<-exited
	b.stderr.Close()
	for i := 0; i < 50; i++ {
		if err := os.RemoveAll(b.profile); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond) // helpers still exiting
	}
}

// newPage opens a page target and connects to it.
func (b *webBrowser) newPage(ctx context.Context, t *testing.T) *webCDPConn {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, "http://127.0.0.1:"+b.port+"/json/new?about:blank", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("DevTools /json/new: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var target struct {
		WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
	}
	if err := json.Unmarshal(body, &target); err != nil || target.WebSocketDebuggerURL == "" {
		t.Fatalf("DevTools /json/new: %s %q (%v)", res.Status, body, err)
	}
	c, err := webDialCDP(target.WebSocketDebuggerURL)
	if err != nil {
		t.Fatalf("DevTools websocket: %v", err)
	}
	t.Cleanup(func() { c.ws.Close() })
	return c
}

type webCDPReply struct {
	ID     int64           `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// webCDPConn is one DevTools websocket: commands with ids, replies matched
// by id, events dropped.
type webCDPConn struct {
	ws      *websocket.Conn
	next    atomic.Int64
	mu      sync.Mutex
	pending map[int64]chan webCDPReply
	done    chan struct{}
	err     error
}

func webDialCDP(url string) (*webCDPConn, error) {
	cfg, err := websocket.NewConfig(url, webCDPOrigin)
	if err != nil {
		return nil, err
	}
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		return nil, err
	}
	ws.MaxPayloadBytes = 64 << 20
	c := &webCDPConn{ws: ws, pending: map[int64]chan webCDPReply{}, done: make(chan struct{})}
	go c.read()
	return c, nil
}

func (c *webCDPConn) read() {
	defer close(c.done)
	for {
		var msg []byte
		if err := websocket.Message.Receive(c.ws, &msg); err != nil {
			c.err = err
			return
		}
		var r webCDPReply
		if json.Unmarshal(msg, &r) != nil || r.ID == 0 {
			continue // an event
		}
		c.mu.Lock()
		ch := c.pending[r.ID]
		delete(c.pending, r.ID)
		c.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
}

// call sends a command and waits for its reply, bounded by ctx.
func (c *webCDPConn) call(ctx context.Context, method string, params any, result any) error {
	id := c.next.Add(1)
	ch := make(chan webCDPReply, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	msg, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	if err != nil {
		return err
	}
	if err := websocket.Message.Send(c.ws, string(msg)); err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, r.Error.Message, r.Error.Code)
		}
		if result != nil {
			return json.Unmarshal(r.Result, result)
		}
		return nil
	case <-c.done:
		return fmt.Errorf("%s: connection closed: %v", method, c.err)
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// eval evaluates a JavaScript expression in the page (awaiting promises)
// and decodes its value into out (if not nil).
func (c *webCDPConn) eval(ctx context.Context, expr string, out any) error {
	var r struct {
		Result struct {
			Type  string          `json:"type"`
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	err := c.call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r)
	if err != nil {
		return err
	}
	if r.ExceptionDetails != nil {
		return fmt.Errorf("javascript: %s %s", r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
	}
	if out == nil {
		return nil
	}
	if len(r.Result.Value) == 0 {
		return errors.New("javascript: no value (" + r.Result.Type + ")")
	}
	return json.Unmarshal(r.Result.Value, out)
}

// waitJS polls a JavaScript condition until it is true or the bound
// passes; it fails the test with what the page shows then.
func (c *webCDPConn) waitJS(ctx context.Context, t *testing.T, bound time.Duration, cond, what string) {
	t.Helper()
	deadline := time.Now().Add(bound)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		var ok bool
		if lastErr = c.eval(ctx, "Boolean("+cond+")", &ok); lastErr == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var state string
			c.eval(ctx, `JSON.stringify({state: (document.getElementById("state")||{}).textContent, golvs: window.golvs && {refreshes: window.golvs.refreshes, lastError: window.golvs.lastError}})`, &state)
			t.Fatalf("%s: not within %v (last error %v); page: %s", what, bound, lastErr, state)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, ctx.Err())
		}
	}
}

// screenshot saves a PNG of the page.
func (c *webCDPConn) screenshot(ctx context.Context, path string) error {
	var r struct {
		Data string `json:"data"`
	}
	if err := c.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &r); err != nil {
		return err
	}
	b, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// webTail returns the last n bytes of s.
func webTail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// lines returns the lines of a file that contain sub.
func webLinesWith(path, sub string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.Contains(sc.Text(), sub) {
			out = append(out, sc.Text())
		}
	}
	return out
}
