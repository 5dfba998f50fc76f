package proxy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/testenv"
	"github.com/golvs/golvs/ipvs"
)

// The network-namespace test runs the director as a separate process (this
// test binary re-executed in the director's namespace): every socket the
// proxy opens, listeners and connects alike, must be in that namespace.

const helperEnv = "GOLVS_NETNS_DIRECTOR"

type helperService struct {
	UDP     bool     `json:"udp,omitempty"`
	VIP     string   `json:"vip,omitempty"`
	FWMark  uint32   `json:"fwmark,omitempty"`
	Listen  string   `json:"listen,omitempty"`
	TPROXY  bool     `json:"tproxy,omitempty"`
	Persist uint32   `json:"persist,omitempty"`
	Dests   []string `json:"dests"`
}

type helperConfig struct {
	Transparent bool            `json:"transparent,omitempty"`
	Services    []helperService `json:"services"`
}

// TestNetnsDirectorHelper is the director process of TestNetns; it does
// nothing unless started by it.
func TestNetnsDirectorHelper(t *testing.T) {
	raw := os.Getenv(helperEnv)
	if raw == "" {
		return
	}
	var cfg helperConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	d := newDirector()
	var svcs []Service
	for _, hs := range cfg.Services {
		k := ipvs.ServiceKey{FWMark: hs.FWMark, Family: ipvs.AFInet}
		if hs.VIP != "" {
			k = tcpKey(netip.MustParseAddrPort(hs.VIP))
			if hs.UDP {
				k.Protocol = ipvs.ProtoUDP
			}
		}
		sc := ipvs.ServiceConfig{ServiceKey: k, Scheduler: "rr"}
		if hs.Persist > 0 {
			sc.Flags, sc.Timeout = ipvs.SvcPersistent, hs.Persist
		}
		if err := d.AddService(sc); err != nil {
			t.Fatal(err)
		}
		for _, ds := range hs.Dests {
			a := netip.MustParseAddrPort(ds)
			if err := d.AddDest(k, ipvs.DestConfig{Addr: a.Addr(), Port: a.Port(), Weight: 1, Method: ipvs.FwdMasq}); err != nil {
				t.Fatal(err)
			}
		}
		s := Service{Key: k, TPROXY: hs.TPROXY}
		if hs.Listen != "" {
			s.Listen = netip.MustParseAddrPort(hs.Listen)
		}
		svcs = append(svcs, s)
	}
	p := New(d, Options{Transparent: cfg.Transparent, Logf: t.Logf})
	defer p.Close()
	if err := p.Sync(svcs); err != nil {
		t.Fatal(err)
	}
	fmt.Println("READY")
	io.Copy(io.Discard, os.Stdin)
	tpl := 0
	for _, ci := range d.Conns(SystemClock.Now()) {
		if ci.Template {
			tpl++
		}
	}
	c := p.Counters()
	fmt.Printf("RESULT templates=%d accepted=%d forwarded=%d rejected=%d dialerrors=%d errors=%d\n",
		tpl, c.Accepted, c.Forwarded, c.Rejected, c.DialErrors, c.Errors)
}

// startDirector runs a director process in ns; the returned function ends
// it and returns its RESULT line.
func startDirector(t *testing.T, ns *testenv.NetNS, cfg helperConfig) func() string {
	t.Helper()
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := ns.Cmd(os.Args[0], "-test.run=^TestNetnsDirectorHelper$", "-test.count=1", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	ready := false
	for sc.Scan() {
		if sc.Text() == "READY" {
			ready = true
			break
		}
		t.Logf("director: %s", sc.Text())
	}
	var result string
	stopped := false
	stop := func() string {
		if stopped {
			return result
		}
		stopped = true
		stdin.Close()
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "RESULT ") {
				result = sc.Text()
			} else {
				t.Logf("director: %s", sc.Text())
			}
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("director process: %v", err)
		}
		return result
	}
	t.Cleanup(func() { stop() })
	if !ready {
		stop()
		t.Fatal("director process did not start")
	}
	return stop
}

// TestNetns runs the proxy as a director between a client namespace and
// three real servers' namespaces:
//
//	client 198.18.0.2-7 ── 198.18.0.1 director 198.18.i.1 ── 198.18.i.2 rs_i (i = 1..3)
//
// in full-NAT mode (the real servers see the director), transparent mode
// (they see the client) and TPROXY with fwmark services (virtual addresses
// 198.18.100.0/24 that no interface has, caught by an nftables tproxy rule
// that marks them; one persistence template covers every address and port
// of the mark).
func TestNetns(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "ip", "nft")
	cli, dir := testenv.NewNetNS(t), testenv.NewNetNS(t)
	var clients []string
	for i := 2; i <= 7; i++ {
		clients = append(clients, fmt.Sprintf("198.18.0.%d/24", i))
	}
	testenv.Veth(t, cli, "c0", clients, dir, "d0", []string{"198.18.0.1/24"})
	cli.Run(t, "ip", "route", "add", "198.18.100.0/23", "via", "198.18.0.1")
	var dests, markDests []string
	var bes []*backend
	for i := 1; i <= 3; i++ {
		rs := testenv.NewNetNS(t)
		testenv.Veth(t, dir, fmt.Sprintf("r%d", i), []string{fmt.Sprintf("198.18.%d.1/24", i)},
			rs, "e0", []string{fmt.Sprintf("198.18.%d.2/24", i)})
		// Transparent mode: replies to clients go back through the director.
		rs.Run(t, "ip", "route", "add", "198.18.0.0/24", "via", fmt.Sprintf("198.18.%d.1", i))
		// Port 8000 for the address services; 80 and 443 for the
		// persistent fwmark service, whose connections keep their
		// destination port (ip_vs_sched_persist).
		for _, port := range []int{8000, 80, 443} {
			addr := fmt.Sprintf("198.18.%d.2:%d", i, port)
			var ln net.Listener
			if err := rs.Do(func() (err error) {
				ln, err = net.Listen("tcp", addr)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			bes = append(bes, serveBackend(t, fmt.Sprintf("rs%d", i), ln, false))
		}
		dests = append(dests, fmt.Sprintf("198.18.%d.2:8000", i))
		var uc *net.UDPConn
		if err := rs.Do(func() (err error) {
			uc, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(fmt.Sprintf("198.18.%d.2:8000", i))))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		serveUDPBackend(t, fmt.Sprintf("rs%d", i), uc)
		markDests = append(markDests, fmt.Sprintf("198.18.%d.2:0", i))
		rs.CheckIsolated(t)
	}
	cli.CheckIsolated(t)
	dir.CheckIsolated(t)
	dir.Run(t, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
		"net.ipv4.tcp_fwmark_accept=1")
	// Policy routing for transparent sockets (mark 1) and TPROXY (mark 7):
	// such packets are delivered locally.
	// tcp_fwmark_accept gives the accepted sockets' own packets the mark
	// too: locally sent packets keep to the main table.
	// (a rule added without a preference goes before all others).
	dir.Run(t, "ip", "rule", "add", "pref", "100", "iif", "lo", "lookup", "main")
	dir.Run(t, "ip", "rule", "add", "pref", "200", "fwmark", "1", "lookup", "100")
	dir.Run(t, "ip", "rule", "add", "pref", "201", "fwmark", "7", "lookup", "100")
	dir.Run(t, "ip", "rule", "add", "pref", "202", "fwmark", "8", "lookup", "100")
	dir.Run(t, "ip", "route", "add", "local", "0.0.0.0/0", "dev", "lo", "table", "100")
	nft := dir.Cmd("nft", "-f", "-")
	nft.Stdin = strings.NewReader(`table inet golvs {
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		meta l4proto { tcp, udp } socket transparent 1 meta mark set 1 accept
		ip daddr 198.18.100.0/24 tcp dport { 80, 443 } tproxy ip to :8080 meta mark set 7 accept
		ip daddr 198.18.101.0/24 tcp dport 80 tproxy ip to :8080 meta mark set 8 accept
	}
}
`)
	if out, err := nft.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}

	stopNAT := startDirector(t, dir, helperConfig{Services: []helperService{
		{VIP: "198.18.0.1:80", Persist: 300, Dests: dests},
		{VIP: "198.18.0.1:53", UDP: true, Dests: dests},
		{FWMark: 7, Listen: "0.0.0.0:8080", TPROXY: true, Persist: 300, Dests: markDests},
		// Reached through the mark-7 service's listener: only the
		// socket's mark selects it.
		{FWMark: 8, Listen: "127.0.0.1:8081", Dests: markDests[2:]},
	}})
	stopTransparent := startDirector(t, dir, helperConfig{Transparent: true, Services: []helperService{
		{VIP: "198.18.0.1:81", Dests: dests},
		{VIP: "198.18.0.1:54", UDP: true, Dests: dests},
	}})

	askFrom := func(t *testing.T, from netip.Addr, vip string) []string {
		t.Helper()
		var f []string
		if err := cli.Do(func() (err error) {
			f, err = ask(t, from, netip.MustParseAddrPort(vip))
			return err
		}); err != nil {
			t.Fatalf("from %v to %s: %v", from, vip, err)
		}
		if len(f) != 3 {
			t.Fatalf("answer %v", f)
		}
		return f
	}
	clientIP := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, 0, byte(2 + i)}) }
	rsIndex := func(name string) int { return int(name[2] - '0') }

	t.Run("full-NAT", func(t *testing.T) {
		seen := map[string]bool{}
		for c := range 6 {
			first := ""
			for range 4 {
				f := askFrom(t, clientIP(c), "198.18.0.1:80")
				peer := netip.MustParseAddrPort(f[1]).Addr()
				if want := netip.AddrFrom4([4]byte{198, 18, byte(rsIndex(f[0])), 1}); peer != want {
					t.Fatalf("%s saw the connection from %v, want the director's %v", f[0], peer, want)
				}
				if first == "" {
					first = f[0]
				} else if f[0] != first {
					t.Fatalf("client %d moved from %s to %s", c, first, f[0])
				}
			}
			seen[first] = true
		}
		if len(seen) != 3 {
			t.Fatalf("clients went to %v", seen)
		}
	})

	// udpFrom sends a few datagrams from one client socket; all reach one
	// real server, which sees the peer returned.
	udpFrom := func(t *testing.T, from netip.Addr, vip string) (string, netip.AddrPort) {
		t.Helper()
		var uc *net.UDPConn
		if err := cli.Do(func() (err error) {
			uc, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(from, 0)))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer uc.Close()
		uc.SetDeadline(time.Now().Add(ioTimeout))
		first, peer := "", netip.AddrPort{}
		for i := range 3 {
			name, p, err := exchangePeer(uc, netip.MustParseAddrPort(vip), fmt.Sprint("d", i))
			if err != nil {
				t.Fatalf("from %v to %s: %v", from, vip, err)
			}
			if first == "" {
				first, peer = name, p
			} else if name != first || p != peer {
				t.Fatalf("session moved from %s (%v) to %s (%v)", first, peer, name, p)
			}
		}
		return first, peer
	}

	t.Run("UDP-full-NAT", func(t *testing.T) {
		seen := map[string]bool{}
		for c := range 3 {
			name, peer := udpFrom(t, clientIP(c), "198.18.0.1:53")
			if want := netip.AddrFrom4([4]byte{198, 18, byte(rsIndex(name)), 1}); peer.Addr() != want {
				t.Fatalf("%s saw datagrams from %v, want the director's %v", name, peer, want)
			}
			seen[name] = true
		}
		if len(seen) != 3 {
			t.Fatalf("rr sent 3 clients to %v", seen)
		}
	})

	t.Run("UDP-transparent", func(t *testing.T) {
		for c := range 3 {
			name, peer := udpFrom(t, clientIP(c), "198.18.0.1:54")
			if peer.Addr() != clientIP(c) {
				t.Fatalf("%s saw datagrams from %v, want the client %v", name, peer, clientIP(c))
			}
		}
	})

	t.Run("TPROXY-fwmark", func(t *testing.T) {
		for c := range 3 {
			first := ""
			for _, vip := range []string{"198.18.100.1:80", "198.18.100.2:443", "198.18.100.3:80"} {
				f := askFrom(t, clientIP(c), vip)
				if first == "" {
					first = f[0]
				} else if f[0] != first {
					t.Fatalf("client %d: fwmark template not used: %s then %s (%s)", c, first, f[0], vip)
				}
			}
		}
	})

	t.Run("TPROXY-socket-mark", func(t *testing.T) {
		for c := range 2 {
			if f := askFrom(t, clientIP(c), "198.18.101.1:80"); f[0] != "rs3" {
				t.Fatalf("mark 8 went to %s, want rs3 (the mark-8 service's only real server)", f[0])
			}
		}
	})

	t.Run("transparent", func(t *testing.T) {
		seen := map[string]bool{}
		for c := range 3 {
			f := askFrom(t, clientIP(c), "198.18.0.1:81")
			peer := netip.MustParseAddrPort(f[1]).Addr()
			if peer != clientIP(c) {
				t.Fatalf("%s saw the connection from %v, want the client %v", f[0], peer, clientIP(c))
			}
			seen[f[0]] = true
		}
		if len(seen) != 3 {
			t.Fatalf("rr sent 3 clients to %v", seen)
		}
	})

	res := stopNAT()
	// 6 clients of the address service, 3 of the fwmark service.
	if !strings.Contains(res, "templates=9 ") || !strings.Contains(res, "accepted=35 forwarded=35 rejected=0 dialerrors=0 errors=0") {
		t.Errorf("full-NAT director: %q", res)
	}
	res = stopTransparent()
	if !strings.Contains(res, "accepted=3 forwarded=3 rejected=0 dialerrors=0 errors=0") {
		t.Errorf("transparent director: %q", res)
	}
	served := map[string]int64{}
	for _, b := range bes {
		served[b.name] += b.conns.Load()
	}
	for name, n := range served {
		// 8 full-NAT, 3 fwmark 7, 1 transparent; rs3 2 more for mark 8.
		want := int64(12)
		if name == "rs3" {
			want += 2
		}
		if n != want {
			t.Errorf("%s served %d connections, want %d", name, n, want)
		}
	}
}
