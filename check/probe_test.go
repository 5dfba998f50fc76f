package check

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// probeCtx is one attempt's context with a generous timeout.
func probeCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// noLeak fails the test if goroutines it started are still running a
// while after it ended (the deadline is a watchdog for slow machines).
func noLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	t.Cleanup(func() {
		limit := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > base {
			if time.Now().After(limit) {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
				return
			}
			runtime.Gosched()
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func addrPort(t *testing.T, a net.Addr) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

// closedPort returns a loopback TCP or UDP port nobody listens on.
func closedPort(t *testing.T, network string) netip.AddrPort {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ap := addrPort(t, c.LocalAddr())
		c.Close()
		return ap
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := addrPort(t, l.Addr())
	l.Close()
	return ap
}

// silentListener accepts connections and never answers.
func silentListener(t *testing.T) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return addrPort(t, l.Addr())
}

func TestTCPProbe(t *testing.T) {
	noLeak(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := &TCP{Addr: addrPort(t, l.Addr())}
	if r := p.Probe(probeCtx(t, 5*time.Second)); r.Err != nil {
		t.Errorf("listening: %v", r.Err)
	}
	p = &TCP{Addr: closedPort(t, "tcp")}
	if r := p.Probe(probeCtx(t, 5*time.Second)); !errors.Is(r.Err, syscall.ECONNREFUSED) {
		t.Errorf("closed port: %v, want connection refused", r.Err)
	}
	if p.String() != "tcp "+p.Addr.String() {
		t.Errorf("String %q", p.String())
	}
}

func TestHTTPProbe(t *testing.T) {
	noLeak(t)
	body := "all good\n"
	sum := md5.Sum([]byte(body))
	digest := hex.EncodeToString(sum[:])
	var hosts []string
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		hosts = append(hosts, r.Host)
		fmt.Fprint(w, body)
	})
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	for _, tls := range []bool{false, true} {
		srv := httptest.NewUnstartedServer(mux)
		if tls {
			srv.StartTLS()
		} else {
			srv.Start()
		}
		ap := addrPort(t, srv.Listener.Addr())
		for _, tc := range []struct {
			name string
			urls []URL
			want string // "" healthy, else part of the error
		}{
			{"2xx by default", []URL{{Path: "/ok"}}, ""},
			{"404 by default", []URL{{Path: "/missing"}}, "status 404"},
			{"404 accepted", []URL{{Path: "/missing", Status: []StatusRange{{200, 200}, {404, 404}}}}, ""},
			{"redirect is a status", []URL{{Path: "/moved"}}, "status 302"},
			{"redirect accepted", []URL{{Path: "/moved", Status: []StatusRange{{300, 399}}}}, ""},
			{"digest", []URL{{Path: "/ok", Digest: strings.ToUpper(digest)}}, ""},
			{"wrong digest", []URL{{Path: "/ok", Digest: strings.Repeat("0", 32)}}, "digest " + digest},
			{"every url", []URL{{Path: "/ok"}, {Path: "/missing"}}, "GET /missing: status 404"},
		} {
			t.Run(fmt.Sprintf("tls=%v/%s", tls, tc.name), func(t *testing.T) {
				p := &HTTP{Addr: ap, TLS: tls, Host: "www.example.test", URLs: tc.urls}
				r := p.Probe(probeCtx(t, 5*time.Second))
				if tc.want == "" && r.Err != nil || tc.want != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), tc.want)) {
					t.Errorf("Probe: %v, want %q", r.Err, tc.want)
				}
			})
		}
		srv.Close()
	}
	if len(hosts) == 0 || hosts[0] != "www.example.test" {
		t.Errorf("Host headers %q, want the virtual host", hosts)
	}
	// A server that accepts and never answers fails at the deadline.
	p := &HTTP{Addr: silentListener(t), URLs: []URL{{Path: "/"}}}
	if r := p.Probe(probeCtx(t, 200*time.Millisecond)); !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Errorf("hung server: %v, want the deadline", r.Err)
	}
	if p.String() != "http "+p.Addr.String()+" /" {
		t.Errorf("String %q", p.String())
	}
}

// script writes a shell script into a temporary directory.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "check.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCommandProbe(t *testing.T) {
	noLeak(t)
	for _, tc := range []struct {
		status  int
		dynamic bool
		healthy bool
		weight  int32
		set     bool
	}{
		{0, false, true, 0, false},
		{1, false, false, 0, false},
		{2, false, false, 0, false},
		{0, true, true, 0, false}, // exit 0 keeps the weight
		{1, true, false, 0, false},
		{2, true, true, 0, true},
		{12, true, true, 10, true},
		{255, true, true, 253, true},
	} {
		p := &Command{Argv: []string{"/bin/sh", "-c", "exit " + strconv.Itoa(tc.status)}, Dynamic: tc.dynamic}
		r := p.Probe(probeCtx(t, 10*time.Second))
		if (r.Err == nil) != tc.healthy || r.WeightSet != tc.set || r.Weight != tc.weight {
			t.Errorf("exit %d dynamic=%v: %+v, want healthy=%v weight %d set %v", tc.status, tc.dynamic, r, tc.healthy, tc.weight, tc.set)
		}
	}
	p := &Command{Argv: []string{"/nonexistent/check"}}
	if r := p.Probe(probeCtx(t, 10*time.Second)); r.Err == nil {
		t.Error("missing program: healthy")
	}
	p = &Command{Argv: []string{script(t, `test "$GOLVS_X" = yes`)}, Env: []string{"GOLVS_X=yes"}}
	if r := p.Probe(probeCtx(t, 10*time.Second)); r.Err != nil {
		t.Errorf("env: %v", r.Err)
	}
}

// TestCommandTimeoutKillsGroup: at the deadline the script and what it
// started die; Probe returns once they are gone.
func TestCommandTimeoutKillsGroup(t *testing.T) {
	noLeak(t)
	pidFile := filepath.Join(t.TempDir(), "pid")
	p := &Command{Argv: []string{script(t, "sleep 300 & echo $! > "+pidFile+"; wait")}}
	r := p.Probe(probeCtx(t, 300*time.Millisecond))
	if r.Err == nil || !strings.Contains(r.Err.Error(), "timed out") {
		t.Fatalf("Probe: %v, want timed out", r.Err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	limit := time.Now().Add(10 * time.Second)
	for processAlive(pid) {
		if time.Now().After(limit) {
			t.Fatalf("the script's child %d survived the timeout", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// processAlive reports whether pid runs (a zombie is dead).
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// udpServer answers each datagram with the datagrams of reply(datagram).
func udpServer(t *testing.T, reply func([]byte) [][]byte) netip.AddrPort {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			for _, out := range reply(buf[:n]) {
				c.WriteTo(out, from)
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return addrPort(t, c.LocalAddr())
}

func TestUDPProbe(t *testing.T) {
	noLeak(t)
	echo := udpServer(t, func(b []byte) [][]byte { return [][]byte{append([]byte("re:"), b...)} })
	silent := udpServer(t, func([]byte) [][]byte { return nil })
	closed := closedPort(t, "udp")
	for _, tc := range []struct {
		name string
		p    UDP
		want string
	}{
		{"reply", UDP{Addr: echo, Payload: []byte("ping"), RequireReply: true}, ""},
		{"reply prefix", UDP{Addr: echo, Payload: []byte("ping"), RequireReply: true, Reply: []byte("re:pi")}, ""},
		{"reply longer than the answer", UDP{Addr: echo, Payload: []byte("p"), RequireReply: true, Reply: []byte("re:pXXXX")}, ""},
		{"reply mismatch", UDP{Addr: echo, Payload: []byte("ping"), RequireReply: true, Reply: []byte("pong")}, "does not match"},
		{"silent, no reply needed", UDP{Addr: silent}, ""},
		{"silent, reply needed", UDP{Addr: silent, RequireReply: true}, "no reply"},
		{"port unreachable", UDP{Addr: closed}, "refused"},
		{"port unreachable, reply needed", UDP{Addr: closed, RequireReply: true}, "refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.p.Probe(probeCtx(t, 300*time.Millisecond))
			if tc.want == "" && r.Err != nil || tc.want != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), tc.want)) {
				t.Errorf("Probe: %v, want %q", r.Err, tc.want)
			}
		})
	}
}

// dnsServer answers queries for "." and names under "ok." with NOERROR
// and others with NXDOMAIN. With noise it first sends a reply with another
// id, and with only it never answers right.
func dnsServer(t *testing.T, noise, only bool, seen *questions) netip.AddrPort {
	return udpServer(t, func(b []byte) [][]byte {
		var p dnsmessage.Parser
		h, err := p.Start(b)
		if err != nil {
			return nil
		}
		q, err := p.Question()
		if err != nil {
			return nil
		}
		seen.add(q)
		rh := dnsmessage.Header{ID: h.ID, Response: true, RecursionDesired: h.RecursionDesired}
		if !strings.HasSuffix(q.Name.String(), "ok.") && q.Name.String() != "." {
			rh.RCode = dnsmessage.RCodeNameError
		}
		var out [][]byte
		if noise {
			bad := rh
			bad.ID++
			bb := dnsmessage.NewBuilder(nil, bad)
			m, _ := bb.Finish()
			out = append(out, m)
			if only {
				return out
			}
		}
		bb := dnsmessage.NewBuilder(nil, rh)
		bb.StartQuestions()
		bb.Question(q)
		m, _ := bb.Finish()
		return append(out, m)
	})
}

// questions records what a DNS server was asked; the race detector does
// not see the ordering a network round trip gives, hence the lock.
type questions struct {
	mu sync.Mutex
	qs []dnsmessage.Question
}

func (q *questions) add(x dnsmessage.Question) { q.mu.Lock(); q.qs = append(q.qs, x); q.mu.Unlock() }

func (q *questions) list() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, x := range q.qs {
		out = append(out, x.Name.String()+" "+x.Type.String())
	}
	return out
}

func TestDNSProbe(t *testing.T) {
	noLeak(t)
	var seen questions
	srv := dnsServer(t, false, false, &seen)
	for _, tc := range []struct {
		p    DNS
		want string
	}{
		{DNS{Addr: srv}, ""},
		{DNS{Addr: srv, Name: "www.ok", Type: dnsmessage.TypeA}, ""},
		{DNS{Addr: srv, Name: "www.nx.", Type: dnsmessage.TypeAAAA}, "rcode NameError"},
		{DNS{Addr: closedPort(t, "udp")}, "refused"},
	} {
		r := tc.p.Probe(probeCtx(t, 2*time.Second))
		if tc.want == "" && r.Err != nil || tc.want != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.p.String(), r.Err, tc.want)
		}
	}
	got := seen.list()
	want := []string{". TypeSOA", "www.ok. TypeA", "www.nx. TypeAAAA"}
	if !slices.Equal(got, want) {
		t.Errorf("questions %q, want %q", got, want)
	}
	// A reply with another id is not the answer: the probe reads on.
	var seen2 questions
	noisy := dnsServer(t, true, false, &seen2)
	if r := (&DNS{Addr: noisy}).Probe(probeCtx(t, 5*time.Second)); r.Err != nil {
		t.Errorf("reply with another id, then the answer: %v", r.Err)
	}
	noisy = dnsServer(t, true, true, &seen2)
	if r := (&DNS{Addr: noisy}).Probe(probeCtx(t, 300*time.Millisecond)); !errors.Is(r.Err, os.ErrDeadlineExceeded) {
		t.Errorf("only a reply with another id: %v, want a timeout", r.Err)
	}
	if s := (&DNS{Addr: srv, Name: "ok", Type: dnsmessage.TypeMX}).String(); s != "dns "+srv.String()+" ok. MX" {
		t.Errorf("String %q", s)
	}
	for name, want := range map[string]dnsmessage.Type{"soa": dnsmessage.TypeSOA, "AAAA": dnsmessage.TypeAAAA, "DNSKEY": 48} {
		if got, err := ParseDNSType(name); err != nil || got != want {
			t.Errorf("ParseDNSType(%q) = %v, %v", name, got, err)
		}
	}
	if _, err := ParseDNSType("ANY"); err == nil {
		t.Error("ParseDNSType(ANY): no error")
	}
}

func TestSplitCommand(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  string
	}{
		{"/bin/check", []string{"/bin/check"}, ""},
		{"  /bin/check  -x 1 ", []string{"/bin/check", "-x", "1"}, ""},
		{`/bin/sh -c 'echo up >> /tmp/f'`, []string{"/bin/sh", "-c", "echo up >> /tmp/f"}, ""},
		{`/bin/x "a \"b\" c" d\ e`, []string{"/bin/x", `a "b" c`, "d e"}, ""},
		{`a'b'"c"`, []string{"abc"}, ""},
		{`a ''`, []string{"a", ""}, ""},
		{"", nil, "empty"},
		{"x 'y", nil, "single quote"},
		{`x "y`, nil, "double quote"},
		{`x \`, nil, "backslash"},
	} {
		got, err := SplitCommand(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("SplitCommand(%q): %q, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("SplitCommand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
