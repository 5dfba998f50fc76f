package proxy

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golvs/golvs/dataplane/proxyproto"
	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
)

// ioTimeout bounds every blocking call of a test so that a bug fails the
// test instead of hanging it; no test asserts on how long anything takes.
const ioTimeout = 20 * time.Second

// manualClock is a clock the test moves.
type manualClock struct{ t atomic.Int64 }

func newManualClock() *manualClock {
	c := &manualClock{}
	c.t.Store(int64(time.Hour))
	return c
}

func (c *manualClock) Now() ipvs.Time           { return ipvs.Time(c.t.Load()) }
func (c *manualClock) Add(d time.Duration)      { c.t.Add(int64(d)) }
func newDirector() *ipvs.Director               { return ipvs.NewDirector(&ipvs.Config{Schedulers: sched.New}) }
func ap(s string) netip.AddrPort                { return netip.MustParseAddrPort(s) }
func tcpKey(vip netip.AddrPort) ipvs.ServiceKey { return key(ipvs.ProtoTCP, vip) }
func key(proto uint8, vip netip.AddrPort) ipvs.ServiceKey {
	return ipvs.ServiceKey{Protocol: proto, Addr: vip.Addr(), Port: vip.Port()}
}

// freePort returns a port free on addr for network ("tcp" or "udp").
func freePort(t testing.TB, network string, addr netip.Addr) netip.AddrPort {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return netip.AddrPortFrom(addr, c.LocalAddr().(*net.UDPAddr).AddrPort().Port())
	}
	l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return netip.AddrPortFrom(addr, l.Addr().(*net.TCPAddr).AddrPort().Port())
}

// backend is a real server started by a test. Each connection starts with
// a command line:
//
//	NAME            answers "name peer proxied-client" and closes
//	ECHO            echoes until EOF, then closes
//	HASH            reads until EOF, answers the sha256 of what it read
//	STREAM n seed   writes n pseudo-random bytes from seed while reading
//	                until EOF, then writes the sha256 of what it read
type backend struct {
	name  string
	addr  netip.AddrPort
	ln    net.Listener
	proxy bool // expects a PROXY protocol header
	conns atomic.Int64
	wg    sync.WaitGroup
}

func startBackend(t testing.TB, name string, addr netip.Addr, proxy bool) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	return serveBackend(t, name, ln, proxy)
}

// serveBackend serves the backend protocol on ln until the test ends.
func serveBackend(t testing.TB, name string, ln net.Listener, proxy bool) *backend {
	b := &backend{name: name, ln: ln, proxy: proxy, addr: ln.Addr().(*net.TCPAddr).AddrPort()}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.conns.Add(1)
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(ioTimeout))
				b.serve(c.(*net.TCPConn))
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); b.wg.Wait() })
	return b
}

func (b *backend) serve(c *net.TCPConn) {
	r := bufio.NewReader(c)
	client := "-"
	if b.proxy {
		h, err := proxyproto.Read(r)
		if err != nil {
			fmt.Fprintf(c, "BADPROXY %v\n", err)
			return
		}
		client = fmt.Sprintf("v%d:%s>%s", h.Version, h.Src, h.Dst)
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return
	}
	f := strings.Fields(line)
	if len(f) == 0 {
		return
	}
	switch f[0] {
	case "NAME":
		fmt.Fprintf(c, "%s %s %s\n", b.name, c.RemoteAddr(), client)
	case "ECHO":
		io.Copy(c, r)
		c.CloseWrite()
	case "HASH":
		h := sha256.New()
		io.Copy(h, r)
		fmt.Fprintf(c, "%x\n", h.Sum(nil))
	case "STREAM":
		n, _ := strconv.ParseInt(f[1], 10, 64)
		seed, _ := strconv.ParseUint(f[2], 10, 64)
		done := make(chan string, 1)
		go func() {
			h := sha256.New()
			io.Copy(h, r)
			done <- hex.EncodeToString(h.Sum(nil))
		}()
		if _, err := io.CopyN(c, newRandReader(seed), n); err != nil {
			return
		}
		fmt.Fprintf(c, "%s\n", <-done)
	}
}

// randReader is a deterministic byte stream.
type randReader struct{ r *rand.ChaCha8 }

func newRandReader(seed uint64) *randReader {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return &randReader{rand.NewChaCha8(s)}
}

func (r *randReader) Read(b []byte) (int, error) { return r.r.Read(b) }

// dial connects to vip from the local address from (port 0: any).
func dial(t testing.TB, from netip.Addr, vip netip.AddrPort) (*net.TCPConn, error) {
	t.Helper()
	d := net.Dialer{Timeout: ioTimeout}
	if from.IsValid() {
		d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(from, 0))
	}
	c, err := d.Dial("tcp", vip.String())
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(ioTimeout))
	return c.(*net.TCPConn), nil
}

// ask sends a NAME command through the proxy and returns the backend's
// answer fields (name, peer, proxied client).
func ask(t testing.TB, from netip.Addr, vip netip.AddrPort) ([]string, error) {
	t.Helper()
	c, err := dial(t, from, vip)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := io.WriteString(c, "NAME\n"); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return nil, err
	}
	return strings.Fields(line), nil
}

func mustAsk(t testing.TB, from netip.Addr, vip netip.AddrPort) string {
	t.Helper()
	f, err := ask(t, from, vip)
	if err != nil {
		t.Fatalf("connection from %v to %v: %v", from, vip, err)
	}
	return f[0]
}

// eventually polls cond, bounded in count; it is for state that settles
// after the test's own I/O (relays that end after their sockets close).
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for range 2000 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("never: %s", what)
}

// setup makes a director with one service and its backends, and a proxy
// serving it.
type rig struct {
	d     *ipvs.Director
	p     *Proxy
	clock *manualClock
	vip   netip.AddrPort
	key   ipvs.ServiceKey
	bes   map[string]*backend
}

type rigOpts struct {
	vip      netip.Addr
	persist  uint32 // persistence timeout in seconds, 0: none
	sched    string
	backends int
	proxy    Options
	beProxy  bool
}

func newRig(t *testing.T, o rigOpts) *rig {
	t.Helper()
	if !o.vip.IsValid() {
		o.vip = netip.MustParseAddr("127.0.0.1")
	}
	if o.sched == "" {
		o.sched = "rr"
	}
	r := &rig{d: newDirector(), clock: newManualClock(), bes: map[string]*backend{}}
	r.vip = freePort(t, "tcp", o.vip)
	r.key = tcpKey(r.vip)
	cfg := ipvs.ServiceConfig{ServiceKey: r.key, Scheduler: o.sched}
	if o.persist > 0 {
		cfg.Flags, cfg.Timeout = ipvs.SvcPersistent, o.persist
	}
	if err := r.d.AddService(cfg); err != nil {
		t.Fatal(err)
	}
	for i := range o.backends {
		name := fmt.Sprintf("rs%d", i+1)
		b := startBackend(t, name, o.vip, o.beProxy)
		r.bes[name] = b
		if err := r.d.AddDest(r.key, ipvs.DestConfig{Addr: b.addr.Addr(), Port: b.addr.Port(), Weight: 1, Method: ipvs.FwdMasq}); err != nil {
			t.Fatal(err)
		}
	}
	if o.proxy.Clock == nil {
		o.proxy.Clock = r.clock
	}
	r.p = New(r.d, o.proxy)
	t.Cleanup(func() { r.p.Close() })
	if err := r.p.Sync([]Service{{Key: r.key}}); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) conns() []ipvs.ConnInfo { return r.d.Conns(r.clock.Now()) }

func (r *rig) waitIdle(t *testing.T) {
	t.Helper()
	eventually(t, "all relays ended", func() bool { return r.p.Counters().ActiveFlows == 0 })
}
