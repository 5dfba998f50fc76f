//go:build linux

package proxy

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
)

// startUDPBackend answers every datagram with "name\npeer\npayload".
func startUDPBackend(t *testing.T, name string, addr netip.Addr) netip.AddrPort {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
	if err != nil {
		t.Fatal(err)
	}
	return serveUDPBackend(t, name, c)
}

func serveUDPBackend(t *testing.T, name string, c *net.UDPConn) netip.AddrPort {
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			c.WriteToUDPAddrPort(append([]byte(name+"\n"+from.String()+"\n"), buf[:n]...), from)
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

type udpRig struct {
	d     *ipvs.Director
	p     *Proxy
	clock *manualClock
	vip   netip.AddrPort
	key   ipvs.ServiceKey
}

func newUDPRig(t *testing.T, vip netip.Addr, persist uint32, backends int) *udpRig {
	t.Helper()
	r := &udpRig{d: newDirector(), clock: newManualClock()}
	r.vip = freePort(t, "udp", vip)
	r.key = key(ipvs.ProtoUDP, r.vip)
	cfg := ipvs.ServiceConfig{ServiceKey: r.key, Scheduler: "rr"}
	if persist > 0 {
		cfg.Flags, cfg.Timeout = ipvs.SvcPersistent, persist
	}
	if err := r.d.AddService(cfg); err != nil {
		t.Fatal(err)
	}
	for i := range backends {
		a := startUDPBackend(t, fmt.Sprintf("rs%d", i+1), vip)
		if err := r.d.AddDest(r.key, ipvs.DestConfig{Addr: a.Addr(), Port: a.Port(), Weight: 1, Method: ipvs.FwdMasq}); err != nil {
			t.Fatal(err)
		}
	}
	r.p = New(r.d, Options{Clock: r.clock})
	t.Cleanup(func() { r.p.Close() })
	if err := r.p.Sync([]Service{{Key: r.key}}); err != nil {
		t.Fatal(err)
	}
	return r
}

func udpClient(t *testing.T, from netip.Addr) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(from, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(ioTimeout))
	return c
}

// exchange sends msg to vip and returns the name of the real server that
// answered; the answer must come from vip.
func exchange(t *testing.T, c *net.UDPConn, vip netip.AddrPort, msg string) string {
	t.Helper()
	name, _, err := exchangePeer(c, vip, msg)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// exchangePeer is exchange returning also the address the real server saw.
func exchangePeer(c *net.UDPConn, vip netip.AddrPort, msg string) (string, netip.AddrPort, error) {
	if _, err := c.WriteToUDPAddrPort([]byte(msg), vip); err != nil {
		return "", netip.AddrPort{}, err
	}
	buf := make([]byte, 2048)
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		return "", netip.AddrPort{}, err
	}
	if from.Addr().Unmap() != vip.Addr() || from.Port() != vip.Port() {
		return "", netip.AddrPort{}, fmt.Errorf("answer from %v, want %v", from, vip)
	}
	f := strings.SplitN(string(buf[:n]), "\n", 3)
	if len(f) != 3 || f[2] != msg {
		return "", netip.AddrPort{}, fmt.Errorf("answer %q to %q", buf[:n], msg)
	}
	peer, err := netip.ParseAddrPort(f[1])
	return f[0], peer, err
}

func TestUDPSessions(t *testing.T) {
	for _, vip := range []string{"127.0.0.1", "::1"} {
		t.Run(vip, func(t *testing.T) {
			r := newUDPRig(t, netip.MustParseAddr(vip), 0, 2)
			var a, b *net.UDPConn
			if vip == "::1" {
				a, b = udpClient(t, netip.IPv6Loopback()), udpClient(t, netip.IPv6Loopback())
			} else {
				a, b = udpClient(t, clientAddr(0)), udpClient(t, clientAddr(1))
			}
			na := exchange(t, a, r.vip, "a0")
			for i := 1; i < 5; i++ {
				if n := exchange(t, a, r.vip, fmt.Sprint("a", i)); n != na {
					t.Fatalf("session moved from %s to %s", na, n)
				}
			}
			nb := exchange(t, b, r.vip, "b0")
			if nb == na {
				t.Fatalf("rr sent both clients to %s", na)
			}
			if got := r.p.Counters().UDPSessions; got != 2 {
				t.Fatalf("%d sessions, want 2", got)
			}
			conns := r.d.Conns(r.clock.Now())
			if len(conns) != 2 || conns[0].State != "UDP" || conns[0].InPkts != 5 {
				t.Fatalf("entries %+v", conns)
			}
			eventually(t, "datagrams counted", func() bool {
				c := r.p.Counters()
				return c.UDPIn == 6 && c.UDPOut == 6
			})
			pc := r.p.Counters()
			if pc.UDPIn != 6 || pc.UDPDropped != 0 {
				t.Fatalf("counters %+v", pc)
			}

			// The UDP timeout (300 s) ends the sessions.
			r.clock.Add(299 * time.Second)
			r.p.Sweep()
			if got := r.p.Counters().UDPSessions; got != 2 {
				t.Fatalf("%d sessions before the timeout, want 2", got)
			}
			r.clock.Add(2 * time.Second)
			r.p.Sweep()
			if got := r.p.Counters().UDPSessions; got != 0 {
				t.Fatalf("%d sessions after the timeout, want 0", got)
			}
			if n := len(r.d.Conns(r.clock.Now())); n != 0 {
				t.Fatalf("%d entries after the timeout", n)
			}
			exchange(t, a, r.vip, "again")
			if got := r.p.Counters().UDPSessions; got != 1 {
				t.Fatalf("%d sessions, want 1", got)
			}
		})
	}
}

// A persistent UDP service keeps a client on one real server across its
// source ports; replies assure the template.
func TestUDPPersistence(t *testing.T) {
	r := newUDPRig(t, netip.MustParseAddr("127.0.0.1"), 600, 3)
	for c := range 3 {
		first := ""
		for s := range 4 {
			n := exchange(t, udpClient(t, clientAddr(c)), r.vip, fmt.Sprintf("c%ds%d", c, s))
			if first == "" {
				first = n
			} else if n != first {
				t.Fatalf("client %d moved from %s to %s", c, first, n)
			}
		}
	}
	tpl := 0
	for _, ci := range r.d.Conns(r.clock.Now()) {
		if ci.Template {
			tpl++
			if ci.State != "ASSURED" {
				t.Errorf("template %v in %s", ci.Client, ci.State)
			}
		}
	}
	if tpl != 3 {
		t.Fatalf("%d templates, want 3", tpl)
	}
	if got := r.p.Counters().UDPSessions; got != 12 {
		t.Fatalf("%d sessions, want 12", got)
	}
}

// A service no longer synced keeps serving its sessions, not new clients;
// once the core deletes it, its sessions end (the kernel drops packets of
// connections whose real server is gone) and its socket closes.
func TestUDPRemoval(t *testing.T) {
	r := newUDPRig(t, netip.MustParseAddr("127.0.0.1"), 0, 1)
	c := udpClient(t, clientAddr(0))
	exchange(t, c, r.vip, "x")
	if err := r.p.Sync(nil); err != nil {
		t.Fatal(err)
	}
	exchange(t, c, r.vip, "y")
	d := udpClient(t, clientAddr(1))
	d.WriteToUDPAddrPort([]byte("z"), r.vip)
	eventually(t, "drop counted", func() bool { return r.p.Counters().UDPDropped == 1 })
	if n := len(r.d.Conns(r.clock.Now())); n != 1 {
		t.Fatalf("%d entries, want the first client's only", n)
	}

	if err := r.d.DelService(r.key); err != nil {
		t.Fatal(err)
	}
	c.WriteToUDPAddrPort([]byte("w"), r.vip)
	eventually(t, "drop counted", func() bool { return r.p.Counters().UDPDropped == 2 })
	r.p.Sweep()
	if got := r.p.Counters().UDPSessions; got != 0 {
		t.Fatalf("%d sessions", got)
	}
	// The socket is closed: the port is free again.
	l, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(r.vip))
	if err != nil {
		t.Fatalf("service socket still open: %v", err)
	}
	l.Close()
}

// Datagrams without a real server are dropped and counted.
func TestUDPNoDest(t *testing.T) {
	r := newUDPRig(t, netip.MustParseAddr("127.0.0.1"), 0, 0)
	c := udpClient(t, clientAddr(0))
	c.WriteToUDPAddrPort([]byte("z"), r.vip)
	eventually(t, "drop counted", func() bool { return r.p.Counters().UDPDropped == 1 })
	if n := r.d.Counters().NoDest.Load(); n != 1 {
		t.Fatalf("core no-dest %d", n)
	}
}
