package proxy

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
)

func clientAddr(i int) netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 0, byte(2 + i)}) }

// Every connection of one client goes to the real server its template
// names; different clients are spread by the scheduler.
func TestTCPPersistence(t *testing.T) {
	r := newRig(t, rigOpts{persist: 300, backends: 3})
	seen := map[string]bool{}
	// The client's stack may give a new connection the port of an
	// earlier one whose entry is still in TIME_WAIT (the client closed
	// second, so it keeps no TIME_WAIT of its own). That SYN takes over
	// the entry and is not scheduled: a connection controlled by a
	// template is never expected new (ip_vs_core.c: is_new_conn_expected).
	reused := 0
	for c := range 6 {
		from := clientAddr(c)
		first := ""
		ports := map[uint16]bool{}
		for range 8 {
			name, port := askFromPort(t, from, r.vip)
			if ports[port] {
				reused++
			}
			ports[port] = true
			if first == "" {
				first = name
			} else if name != first {
				t.Fatalf("client %v went to %s then %s", from, first, name)
			}
		}
		seen[first] = true
	}
	if len(seen) != 3 {
		t.Fatalf("clients went to %v, want the 3 real servers", seen)
	}
	if reused > 0 {
		t.Logf("%d client tuples reused", reused)
	}
	r.waitIdle(t)
	templates := 0
	for _, ci := range r.conns() {
		if ci.Template {
			templates++
			if ci.State != "ASSURED" {
				t.Errorf("template %v -> %v in %s, want ASSURED", ci.Client, ci.Dest, ci.State)
			}
		} else if ci.State != "TIME_WAIT" {
			t.Errorf("connection %v in %s, want TIME_WAIT", ci.Client, ci.State)
		}
	}
	if templates != 6 {
		t.Fatalf("%d templates, want 6", templates)
	}
	c := r.d.Counters()
	if c.TemplateMiss.Load() != 6 || c.TemplateHit.Load() != uint64(6*7-reused) {
		t.Fatalf("template misses %d hits %d, want 6 and %d (%d client tuples reused)", c.TemplateMiss.Load(), c.TemplateHit.Load(), 6*7-reused, reused)
	}
	pc := r.p.Counters()
	if pc.Accepted != 48 || pc.Forwarded != 48 || pc.Rejected != 0 || pc.Errors != 0 {
		t.Fatalf("counters %+v", pc)
	}
	si, err := r.d.Service(r.key)
	if err != nil {
		t.Fatal(err)
	}
	if si.Stats.Conns != 48 && si.Stats.Conns != 0 { // folded every 2 s by the estimator
		t.Fatalf("service conns %d", si.Stats.Conns)
	}
	inact := 0
	for _, di := range si.Dests {
		inact += int(di.InactConns)
		if di.ActiveConns != 0 || di.InactConns > 16 || di.PersistConns != 2 {
			t.Errorf("dest %v: active %d inactive %d persistent %d, want 0 16 2 (fewer inactive for reused tuples)", di.Addr, di.ActiveConns, di.InactConns, di.PersistConns)
		}
	}
	if inact != 48-reused {
		t.Errorf("%d inactive connections, want %d (%d client tuples reused)", inact, 48-reused, reused)
	}
}

// Once the template expires, the next connection is scheduled anew.
func TestTemplateExpiryReschedules(t *testing.T) {
	r := newRig(t, rigOpts{persist: 60, backends: 2})
	from := clientAddr(0)
	first := mustAsk(t, from, r.vip)
	if again := mustAsk(t, from, r.vip); again != first {
		t.Fatalf("template not used: %s then %s", first, again)
	}
	r.waitIdle(t)
	r.clock.Add(10 * time.Minute)
	r.p.Sweep()
	if n := len(r.conns()); n != 0 {
		t.Fatalf("%d entries left after the timeouts: %+v", n, r.conns())
	}
	if next := mustAsk(t, from, r.vip); next == first {
		t.Fatalf("rr after the template expired chose %s again", next)
	}
	if c := r.d.Counters(); c.TemplateMiss.Load() != 2 {
		t.Fatalf("template misses %d, want 2", c.TemplateMiss.Load())
	}
}

// A deleted real server's template is invalid: the client is scheduled to
// another one; its established relay is closed on its next packet.
func TestRealServerRemoved(t *testing.T) {
	r := newRig(t, rigOpts{persist: 300, backends: 2})
	from := clientAddr(0)
	first := mustAsk(t, from, r.vip)
	r.waitIdle(t)

	// An established relay to the server about to be removed.
	c, err := dial(t, from, r.vip)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	fmt.Fprintf(c, "ECHO\nping\n")
	if l, err := br.ReadString('\n'); err != nil || l != "ping\n" {
		t.Fatalf("echo: %q %v", l, err)
	}

	b := r.bes[first]
	if err := r.d.DelDest(r.key, b.addr.Addr(), b.addr.Port()); err != nil {
		t.Fatal(err)
	}
	if next := mustAsk(t, from, r.vip); next == first {
		t.Fatalf("scheduled to the deleted real server %s", next)
	}
	if c := r.d.Counters(); c.TemplateInvalid.Load() != 1 {
		t.Fatalf("invalid templates %d, want 1", c.TemplateInvalid.Load())
	}
	// The kernel drops the old connection's packets; the proxy resets the
	// relay at its next tick.
	r.p.Sweep()
	fmt.Fprintf(c, "pong\n")
	if l, err := br.ReadString('\n'); err == nil {
		t.Fatalf("relay to a deleted real server still echoes %q", l)
	}
	eventually(t, "relay expired", func() bool { return r.p.Counters().Expired == 1 })
}

// An idle relay ends when the core expires its entry.
func TestIdleRelayExpires(t *testing.T) {
	r := newRig(t, rigOpts{backends: 1})
	c, err := dial(t, netip.Addr{}, r.vip)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	fmt.Fprintf(c, "ECHO\nping\n")
	if l, err := br.ReadString('\n'); err != nil || l != "ping\n" {
		t.Fatalf("echo: %q %v", l, err)
	}
	conns := r.conns()
	if len(conns) != 1 || conns[0].State != "ESTABLISHED" {
		t.Fatalf("entries %+v, want one ESTABLISHED", conns)
	}
	r.clock.Add(14 * time.Minute)
	r.p.Sweep()
	if r.p.Counters().Expired != 0 || len(r.conns()) != 1 {
		t.Fatalf("relay expired before the 15 min timeout")
	}
	r.clock.Add(2 * time.Minute)
	r.p.Sweep()
	if _, err := br.ReadString('\n'); err == nil {
		t.Fatal("relay still open after its entry expired")
	}
	if got := r.p.Counters().Expired; got != 1 {
		t.Fatalf("expired %d, want 1", got)
	}
	r.waitIdle(t)
}

// No real server: the client is reset and counted.
func TestNoDestResets(t *testing.T) {
	r := newRig(t, rigOpts{backends: 0})
	if f, err := ask(t, netip.Addr{}, r.vip); err == nil {
		t.Fatalf("answer %v without a real server", f)
	}
	eventually(t, "rejected counted", func() bool { return r.p.Counters().Rejected == 1 })
	if n := r.d.Counters().NoDest.Load(); n != 1 {
		t.Fatalf("core no-dest %d", n)
	}
}

// A refused connect resets the client; the core saw the RST.
func TestBackendRefused(t *testing.T) {
	r := newRig(t, rigOpts{backends: 0})
	dead := freePort(t, "tcp", r.vip.Addr())
	if err := r.d.AddDest(r.key, ipvs.DestConfig{Addr: dead.Addr(), Port: dead.Port(), Weight: 1}); err != nil {
		t.Fatal(err)
	}
	if f, err := ask(t, netip.Addr{}, r.vip); err == nil {
		t.Fatalf("answer %v from a closed port", f)
	}
	eventually(t, "dial error counted", func() bool { return r.p.Counters().DialErrors == 1 })
	conns := r.conns()
	if len(conns) != 1 || conns[0].State != "CLOSE" {
		t.Fatalf("entries %+v, want one in CLOSE", conns)
	}
}

// Data relayed both ways at once arrives intact.
func TestTCPIntegrity(t *testing.T) {
	for _, vip := range []string{"127.0.0.1", "::1"} {
		t.Run(vip, func(t *testing.T) {
			r := newRig(t, rigOpts{vip: netip.MustParseAddr(vip), backends: 1, proxy: Options{ChunkSize: 256 << 10}})
			const up, down = 6<<20 + 12345, 9<<20 + 678
			c, err := dial(t, netip.Addr{}, r.vip)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "STREAM %d 7\n", down)
			sent := make(chan string, 1)
			go func() {
				h := sha256.New()
				io.CopyN(io.MultiWriter(c, h), newRandReader(99), up)
				c.CloseWrite()
				sent <- hex.EncodeToString(h.Sum(nil))
			}()
			got := sha256.New()
			if _, err := io.CopyN(got, c, down); err != nil {
				t.Fatal(err)
			}
			want := sha256.New()
			io.CopyN(want, newRandReader(7), down)
			if hex.EncodeToString(got.Sum(nil)) != hex.EncodeToString(want.Sum(nil)) {
				t.Fatal("stream from the real server corrupted")
			}
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(line) != <-sent {
				t.Fatal("stream to the real server corrupted")
			}
			r.waitIdle(t)
			pc := r.p.Counters()
			if pc.BytesIn != up+uint64(len(fmt.Sprintf("STREAM %d 7\n", down))) || pc.BytesOut != down+65 {
				t.Fatalf("bytes in %d out %d", pc.BytesIn, pc.BytesOut)
			}
			r.clock.Add(3 * time.Second)
			r.p.Sweep()
			si, _ := r.d.Service(r.key)
			if si.Stats.InBytes < up || si.Stats.OutBytes < down {
				t.Fatalf("core byte statistics in %d out %d", si.Stats.InBytes, si.Stats.OutBytes)
			}
		})
	}
}

// A client's half-close reaches the real server, whose answer still comes
// back; the core goes through the FIN states.
func TestHalfClose(t *testing.T) {
	r := newRig(t, rigOpts{backends: 1})
	c, err := dial(t, netip.Addr{}, r.vip)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := strings.Repeat("half-close ", 1000)
	fmt.Fprintf(c, "HASH\n%s", msg)
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	line, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(msg))
	if strings.TrimSpace(string(line)) != hex.EncodeToString(sum[:]) {
		t.Fatalf("answer %q", line)
	}
	r.waitIdle(t)
	conns := r.conns()
	if len(conns) != 1 || conns[0].State != "TIME_WAIT" {
		t.Fatalf("entries %+v, want one in TIME_WAIT", conns)
	}
}

func TestProxyProtocol(t *testing.T) {
	for v := 1; v <= 2; v++ {
		t.Run(fmt.Sprint("v", v), func(t *testing.T) {
			r := newRig(t, rigOpts{backends: 1, beProxy: true, proxy: Options{ProxyProtocol: v}})
			c, err := dial(t, clientAddr(3), r.vip)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "NAME\n")
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			f := strings.Fields(line)
			want := fmt.Sprintf("v%d:%s>%s", v, c.LocalAddr(), r.vip)
			if len(f) != 3 || f[2] != want {
				t.Fatalf("backend saw %q, want %q", line, want)
			}
		})
	}
}

// Services come and go at run time. Closing a listener leaves its
// established relays alone; deleting the core's service ends them as the
// kernel does (their real servers are no longer available).
func TestSync(t *testing.T) {
	r := newRig(t, rigOpts{backends: 1})
	c, err := dial(t, netip.Addr{}, r.vip)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	echo := func(s string) error {
		fmt.Fprintf(c, "%s\n", s)
		l, err := br.ReadString('\n')
		if err == nil && l != s+"\n" {
			err = fmt.Errorf("echo %q", l)
		}
		return err
	}
	fmt.Fprintf(c, "ECHO\n")
	if err := echo("one"); err != nil {
		t.Fatal(err)
	}

	vip2 := freePort(t, "tcp", netip.MustParseAddr("127.0.0.1"))
	k2 := tcpKey(vip2)
	if err := r.d.AddService(ipvs.ServiceConfig{ServiceKey: k2, Scheduler: "rr"}); err != nil {
		t.Fatal(err)
	}
	b := r.bes["rs1"]
	if err := r.d.AddDest(k2, ipvs.DestConfig{Addr: b.addr.Addr(), Port: b.addr.Port(), Weight: 1, Method: ipvs.FwdMasq}); err != nil {
		t.Fatal(err)
	}
	if err := r.p.Sync(ServicesOf(r.d.Services())); err != nil {
		t.Fatal(err)
	}
	mustAsk(t, netip.Addr{}, vip2)
	if err := echo("two"); err != nil {
		t.Fatal(err)
	}

	// The first service is no longer served: its listener closes, its
	// relay goes on.
	if err := r.p.Sync([]Service{{Key: k2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ask(t, netip.Addr{}, r.vip); err == nil {
		t.Fatal("service no longer synced still answers")
	}
	r.p.Sweep()
	if err := echo("three"); err != nil {
		t.Fatalf("established relay of a listener closed: %v", err)
	}
	mustAsk(t, netip.Addr{}, vip2)

	// The core deletes it: the relay ends.
	if err := r.d.DelService(r.key); err != nil {
		t.Fatal(err)
	}
	r.p.Sweep()
	if err := echo("four"); err == nil {
		t.Fatal("relay of a deleted service still open")
	}
	mustAsk(t, netip.Addr{}, vip2)
}

// Shutdown waits for relays to end, within its bound.
func TestShutdown(t *testing.T) {
	r := newRig(t, rigOpts{backends: 1})
	c, err := dial(t, netip.Addr{}, r.vip)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "ECHO\nx\n")
	br := bufio.NewReader(c)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.p.Shutdown(context.Background()) }()
	// New connections are refused while the relay drains.
	eventually(t, "listener closed", func() bool {
		c, err := net.Dial("tcp", r.vip.String())
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	fmt.Fprintf(c, "y\n")
	if l, err := br.ReadString('\n'); err != nil || l != "y\n" {
		t.Fatalf("draining relay: %q %v", l, err)
	}
	c.CloseWrite()
	if _, err := io.ReadAll(br); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	// With an expired bound, the remaining relays are reset.
	r2 := newRig(t, rigOpts{backends: 1})
	c2, err := dial(t, netip.Addr{}, r2.vip)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	fmt.Fprintf(c2, "ECHO\nx\n")
	br2 := bufio.NewReader(c2)
	if _, err := br2.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r2.p.Shutdown(ctx); err == nil {
		t.Fatal("Shutdown with a done context reported no error")
	}
	if _, err := br2.ReadString('\n'); err == nil {
		t.Fatal("relay survived Shutdown")
	}
}

// askFromPort is mustAsk that also returns the client's port.
func askFromPort(t *testing.T, from netip.Addr, vip netip.AddrPort) (string, uint16) {
	t.Helper()
	c, err := dial(t, from, vip)
	if err != nil {
		t.Fatalf("connection from %v to %v: %v", from, vip, err)
	}
	defer c.Close()
	port := c.LocalAddr().(*net.TCPAddr).AddrPort().Port()
	if _, err := io.WriteString(c, "NAME\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(line)[0], port
}
