// Package replay plays the oracle's scenario language through golvs's own
// core on a virtual clock and prints a transcript in the oracle's format,
// and compares such a transcript with one recorded from the kernel.
package replay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
	"github.com/golvs/golvs/ipvsadm"
)

// Typical wall time the oracle's guest spends on a step (its ORACLE-TIME
// differences on an idle machine); virtual time moves by as much after the
// step, so that expiry countdowns and timers stay close to the kernel's.
var stepCost = map[string]time.Duration{
	"tcp":      160 * time.Millisecond,
	"udp":      130 * time.Millisecond,
	"tcp-open": 380 * time.Millisecond,
	"rs-up":    300 * time.Millisecond,
	"dump":     220 * time.Millisecond,
	"nft":      80 * time.Millisecond,
	"sleep":    20 * time.Millisecond,
	"sysctl":   20 * time.Millisecond,
}

// defaultStepCost is the cost of other steps (ipvsadm, ip).
const defaultStepCost = 60 * time.Millisecond

// packetDelay is when, within a traffic step, the guest's tool sends its
// first packet (the time to start it in the client's namespace).
const packetDelay = 60 * time.Millisecond

// Packet lengths of the oracle's Linux peers: SYN and SYN-ACK carry 20
// bytes of options (MSS, SACK, timestamps, window scale), later segments
// the 12-byte timestamp option; the UDP datagram carries one byte.
const (
	lenSyn    = 60
	lenSynAck = 60
	lenAck    = 52
	lenUDP    = 29
)

// closeDelay is how long `tcp` holds a connection that completes: the
// oracle's tool gives up after 50 ms and its socket is closed with FIN.
const closeDelay = 50 * time.Millisecond

// clientTimeWait is how long the client's own stack keeps a connection it
// closed first in TIME_WAIT (TCP_TIMEWAIT_LEN).
const clientTimeWait = 60 * time.Second

// clientSock is a socket of the guest's traffic tool in the client
// namespace: open until closeAt, then in TIME_WAIT until goneAt. Whether a
// new attempt from the same address and port sends a SYN at all depends on
// them (see mayConnect).
type clientSock struct {
	dst     netip.AddrPort
	reuse   bool // SO_REUSEADDR: set by `syn tcp`, not by tcp-open's Go dialer
	closeAt ipvs.Time
	goneAt  ipvs.Time
}

// dialTimeout is the oracle tool's connect timeout for tcp-open.
const dialTimeout = 5 * time.Second

// oracleSchedulers are the schedulers of the oracle's kernel: all but twos
// (CONFIG_IP_VS_TWOS is not set in Debian's 6.1 kernel).
func oracleSchedulers(name string) (ipvs.Scheduler, error) {
	if name == "twos" {
		return nil, fmt.Errorf("%w: %q is not built in the reference kernel", ipvs.ErrSchedulerNotFound, name)
	}
	return sched.New(name)
}

// guestLocal are the director's addresses in the oracle's guest: the three
// VIPs on lo and the two veth ends (guest-init).
var guestLocal = []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.9.255.254", "10.8.255.254"}

// ip follows `ip addr add|del ADDR[/LEN] dev DEV` on the director, which
// changes the addresses IPVS sees packets for; other ip lines (routes,
// links, commands in other namespaces) change nothing IPVS decides.
func (p *Player) ip(args []string) {
	if len(args) >= 5 && args[0] == "netns" && args[1] == "exec" && args[2] == "c" && args[3] == "sysctl" {
		// The client's stack: with tcp_max_tw_buckets=0 its closed
		// sockets skip TIME_WAIT, and a tuple is free again at once.
		for _, a := range args[4:] {
			if v, ok := strings.CutPrefix(a, "net.ipv4.tcp_max_tw_buckets="); ok {
				if n, err := strconv.Atoi(v); err == nil {
					p.clientNoTW = n == 0
				}
			}
		}
		return
	}
	if len(args) < 3 || (args[0] != "addr" && args[0] != "address" && args[0] != "a") {
		return
	}
	op := args[1]
	if op != "add" && op != "del" && op != "delete" {
		return
	}
	a := args[2]
	if i := strings.IndexByte(a, '/'); i >= 0 {
		a = a[:i]
	}
	addr, err := netip.ParseAddr(a)
	if err != nil {
		return
	}
	switch {
	case op == "add" && p.local[addr]:
		p.out("RTNETLINK answers: File exists")
	case op != "add" && !p.local[addr]:
		p.out("RTNETLINK answers: Cannot assign requested address")
	default:
		p.local[addr] = op == "add"
	}
}

func (p *Player) isLocal(a netip.Addr) bool { return p.local[a] || a.IsLoopback() }

// oracleIPVSAdm is ipvsadm as on the oracle's guest, which has no
// services database: port names are refused and listings are numeric.
var oracleIPVSAdm = ipvsadm.Config{Services: ipvsadm.NoServices}

type packet struct {
	proto        uint8
	src, dst     netip.Addr
	sport, dport uint16
}

type event struct {
	at  ipvs.Time
	seq int
	fn  func()
}

// Player plays one scenario. The zero value is not usable; use NewPlayer.
type Player struct {
	Director *ipvs.Director
	target   *guestTarget
	now      ipvs.Time
	start    ipvs.Time
	w        io.Writer
	nft      nftState
	// listening real servers (rs-up) and real-server addresses that exist
	listen map[netip.AddrPort]bool
	rsAddr map[netip.Addr]bool
	// local addresses of the director: IPVS sees only packets delivered
	// locally (its LOCAL_IN hook); others are routed, or dropped.
	local  map[netip.Addr]bool
	events []event
	evSeq  int
	step   int
	// socks are the client tool's sockets by local address and port, and
	// the latest one of each connection; clientNoTW is set by the client's
	// tcp_max_tw_buckets=0.
	socks      map[netip.AddrPort][]*clientSock
	sockOf     map[packet]*clientSock
	clientNoTW bool

	// rest is the scenario after the current line, the standard input of
	// its command; restConsumed is set when a command read it all.
	rest         []string
	restConsumed bool
}

// NewPlayer returns a player writing its transcript to w, with a fresh
// director using every kernel scheduler.
func NewPlayer(w io.Writer) *Player {
	d := ipvs.NewDirector(&ipvs.Config{Schedulers: oracleSchedulers})
	p := &Player{Director: d, w: w, listen: map[netip.AddrPort]bool{}, rsAddr: map[netip.Addr]bool{},
		local: map[netip.Addr]bool{}, socks: map[netip.AddrPort][]*clientSock{}, sockOf: map[packet]*clientSock{}}
	p.target = &guestTarget{Director: d}
	for _, a := range guestLocal {
		p.local[netip.MustParseAddr(a)] = true
	}
	d.Advance(0)
	return p
}

// Play reads a scenario from r and writes golvs's transcript to w.
func Play(r io.Reader, w io.Writer) error {
	p := NewPlayer(w)
	sc := bufio.NewScanner(r)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	for i := 0; i < len(lines); i++ {
		// The guest runs each command with the scenario file as its
		// standard input: `ipvsadm -R` reads the rest of the scenario.
		p.rest = lines[i+1:]
		if err := p.Line(lines[i]); err != nil {
			return err
		}
		if p.restConsumed {
			break
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	p.Done()
	return nil
}

// Done prints the final marker.
func (p *Player) Done() { fmt.Fprintln(p.w, "ORACLE-DONE") }

func (p *Player) at(t ipvs.Time, fn func()) {
	p.evSeq++
	p.events = append(p.events, event{at: t, seq: p.evSeq, fn: fn})
	sort.SliceStable(p.events, func(i, j int) bool {
		if p.events[i].at != p.events[j].at {
			return p.events[i].at < p.events[j].at
		}
		return p.events[i].seq < p.events[j].seq
	})
}

// advance moves virtual time to t, firing scenario events and the
// director's timers in time order.
func (p *Player) advance(t ipvs.Time) {
	for len(p.events) > 0 && p.events[0].at <= t {
		ev := p.events[0]
		p.events = p.events[1:]
		if ev.at > p.now {
			p.now = ev.at
		}
		p.Director.Advance(p.now)
		ev.fn()
	}
	if t > p.now {
		p.now = t
	}
	p.Director.Advance(p.now)
}

// Line plays one scenario line. Errors are returned only for lines the
// language does not have or golvs cannot evaluate.
func (p *Player) Line(line string) error {
	line = strings.TrimRight(line, "\r")
	if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
		return nil
	}
	p.step++
	fmt.Fprintf(p.w, "ORACLE-STEP %d: %s\n", p.step, line)
	fmt.Fprintf(p.w, "ORACLE-TIME %.2f\n", time.Duration(p.now-p.start).Seconds())
	f := strings.Fields(line)
	cmd := f[0]
	var err error
	switch cmd {
	case "ipvsadm":
		p.ipvsadm(f[1:])
	case "sysctl":
		err = p.sysctl(f[1:])
	case "nft":
		err = p.nft.apply(f[1:])
		var ne *nftError
		if errors.As(err, &ne) {
			p.out(ne.Error())
			err = nil
		}
	case "ip":
		p.ip(f[1:])
	case "client-nft":
		// Client-namespace rules do not reach the director's decisions.
	case "tcp", "udp", "tcp-open":
		p.advance(p.now.Add(packetDelay))
		err = p.traffic(cmd, f[1:])
	case "rs-up":
		err = p.rsUp(f[1:])
	case "sleep":
		var secs float64
		if len(f) != 2 {
			return fmt.Errorf("step %d: sleep needs one argument", p.step)
		}
		if secs, err = strconv.ParseFloat(f[1], 64); err != nil || secs < 0 {
			return fmt.Errorf("step %d: bad sleep %q", p.step, f[1])
		}
		p.advance(p.now.Add(time.Duration(secs * float64(time.Second))))
	case "dump":
		p.dump()
	default:
		fmt.Fprintf(p.w, "ORACLE-WARN unknown: %s\n", line)
		return nil
	}
	if err != nil {
		return fmt.Errorf("step %d (%s): %w", p.step, line, err)
	}
	c, ok := stepCost[cmd]
	if !ok {
		c = defaultStepCost
	}
	if cmd == "tcp" || cmd == "udp" || cmd == "tcp-open" {
		c -= packetDelay
	}
	p.advance(p.now.Add(c))
	return nil
}

func (p *Player) ipvsadm(args []string) {
	var buf bytes.Buffer
	stdin := ""
	if slices.Contains(args, "-R") || slices.Contains(args, "--restore") {
		stdin = strings.Join(p.rest, "\n")
		if len(p.rest) > 0 {
			stdin += "\n"
		}
		p.restConsumed = true
	}
	oracleIPVSAdm.Run(p.target, args, strings.NewReader(stdin), &buf, &buf, p.now)
	p.out(buf.String())
}

func (p *Player) out(s string) {
	if s == "" {
		return
	}
	for _, l := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		fmt.Fprintf(p.w, "ORACLE-OUT %s\n", l)
	}
}

func (p *Player) sysctl(args []string) error {
	var assigns []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			assigns = append(assigns, a)
		}
	}
	if len(assigns) == 0 {
		return fmt.Errorf("sysctl: only `sysctl -w NAME=VALUE` is played")
	}
	for _, a := range assigns {
		name, val, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("sysctl: reading %q is not played, only `sysctl -w NAME=VALUE`", a)
		}
		short, isVS := strings.CutPrefix(name, "net.ipv4.vs.")
		if !isVS {
			// Other kernel settings do not reach IPVS's decisions.
			p.out(fmt.Sprintf("%s = %s", name, val))
			continue
		}
		if !slices.Contains(ipvs.SysctlNames, short) {
			p.out(fmt.Sprintf("sysctl: error: '%s' is an unknown key", name))
			continue
		}
		s := p.Director.Settings()
		if err := s.Set(short, val); err != nil {
			p.out("sysctl: write error: Invalid argument")
			continue
		}
		p.Director.SetSettings(s)
		p.out(fmt.Sprintf("%s = %s", name, val))
	}
	return nil
}

func (p *Player) rsUp(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("rs-up needs RIP PORT")
	}
	a, err := netip.ParseAddr(args[0])
	if err != nil {
		return err
	}
	port, err := strconv.ParseUint(args[1], 10, 16)
	if err != nil {
		return err
	}
	p.rsAddr[a] = true
	p.listen[netip.AddrPortFrom(a, uint16(port))] = true
	return nil
}

func (p *Player) traffic(cmd string, args []string) error {
	want := 4
	if cmd == "tcp-open" {
		want = 5
	}
	if len(args) != want {
		return fmt.Errorf("%s needs %d arguments", cmd, want)
	}
	cip, err := netip.ParseAddr(args[0])
	if err != nil {
		return err
	}
	vip, err := netip.ParseAddr(args[2])
	if err != nil {
		return err
	}
	cport, err1 := strconv.ParseUint(args[1], 10, 16)
	vport, err2 := strconv.ParseUint(args[3], 10, 16)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("bad port")
	}
	pk := packet{src: cip, dst: vip, sport: uint16(cport), dport: uint16(vport), proto: ipvs.ProtoTCP}
	if cmd != "udp" && !p.mayConnect(pk, cmd == "tcp") {
		return nil // the client's bind or connect fails: no SYN
	}
	switch cmd {
	case "udp":
		pk.proto = ipvs.ProtoUDP
		p.send(pk, 0, lenUDP, ipvs.DirIn)
	case "tcp":
		p.connect(pk, closeDelay, false, 0)
	case "tcp-open":
		hold, err := strconv.ParseFloat(args[4], 64)
		if err != nil || hold < 0 {
			return fmt.Errorf("bad hold %q", args[4])
		}
		p.connect(pk, time.Duration(hold*float64(time.Second)), true, 0)
	}
	return nil
}

// mayConnect reports whether the guest's tool gets a SYN out for pk and,
// if so, records its socket. The client's stack decides (Linux 6.1):
// bind(2) to an address and port held by another socket fails unless both
// set SO_REUSEADDR (inet_csk_bind_conflict; TIME_WAIT sockets count); then
// connect(2) fails on an open connection of the same four-tuple, while one
// in TIME_WAIT is taken over (tcp_twsk_unique, timestamps on, as between
// Linux hosts).
func (p *Player) mayConnect(pk packet, reuse bool) bool {
	local := netip.AddrPortFrom(pk.src, pk.sport)
	dst := netip.AddrPortFrom(pk.dst, pk.dport)
	socks := p.socks[local][:0]
	for _, s := range p.socks[local] {
		if p.now < s.goneAt {
			socks = append(socks, s)
		}
	}
	for _, s := range socks {
		if !reuse || !s.reuse || (s.dst == dst && p.now < s.closeAt) {
			p.socks[local] = socks
			return false
		}
	}
	keep := socks[:0]
	for _, s := range socks {
		if s.dst != dst {
			keep = append(keep, s)
		}
	}
	// Until the attempt's outcome is known: `syn tcp` exits after 50 ms,
	// tcp-open's dialer gives up after 5 s.
	until := p.now.Add(closeDelay)
	if !reuse {
		until = p.now.Add(dialTimeout)
	}
	s := &clientSock{dst: dst, reuse: reuse, closeAt: until, goneAt: until}
	p.socks[local] = append(keep, s)
	p.sockOf[pk] = s
	return true
}

// send passes one packet through the director: client to virtual address
// (DirIn) or real server to client (DirOut, pk already reversed).
func (p *Player) send(pk packet, flags uint8, n int, dir ipvs.Direction) ipvs.Result {
	ip := ipvs.Packet{Protocol: pk.proto, Src: pk.src, Dst: pk.dst, SrcPort: pk.sport, DstPort: pk.dport,
		Dir: dir, TCPFlags: flags, Len: n}
	if dir == ipvs.DirIn {
		if !p.isLocal(pk.dst) {
			// Not delivered locally: IPVS never sees it.
			return ipvs.Result{Verdict: ipvs.VerdictAccept, Reason: ipvs.ReasonNotIPVS}
		}
		ip.Mark = p.nft.mark(&pk)
	}
	return p.Director.Process(&ip, p.now)
}

// synRetries are the times after the first SYN at which a connecting
// Linux socket retransmits it (initial RTO 1 s, doubling) before the
// oracle tool's 5 s dial timeout.
var synRetries = []time.Duration{time.Second, 3 * time.Second}

// connect plays a client's TCP connection attempt: SYN, then whatever the
// real server answers. dial marks tcp-open (retransmits while unanswered).
func (p *Player) connect(pk packet, hold time.Duration, dial bool, try int) {
	r := p.send(pk, ipvs.TCPSyn, lenSyn, ipvs.DirIn)
	if r.Verdict == ipvs.VerdictDrop {
		// Dropped silently (an entry of a deleted real server): a dialling
		// client retransmits.
		p.retrySyn(pk, hold, dial, try)
		return
	}
	if r.Verdict != ipvs.VerdictForward || r.Conn == nil {
		// Refused (RST from the director's stack or ICMP): the attempt
		// ends and the client's socket with it.
		if s := p.sockOf[pk]; s != nil {
			s.closeAt, s.goneAt = p.now, p.now
		}
		return
	}
	c := r.Conn
	rs := c.DestAddrPort()
	masq := ipvs.FwdMethod(c.Flags()&ipvs.ConnFwdMask) == ipvs.FwdMasq
	reply := packet{proto: pk.proto, src: rs.Addr(), dst: pk.src, sport: rs.Port(), dport: pk.sport}
	switch {
	case masq && p.listen[rs]:
		p.send(reply, ipvs.TCPSyn|ipvs.TCPAck, lenSynAck, ipvs.DirOut)
		p.send(pk, ipvs.TCPAck, lenAck, ipvs.DirIn)
		if s := p.sockOf[pk]; s != nil {
			s.closeAt = p.now.Add(hold)
			s.goneAt = s.closeAt
			if !p.clientNoTW {
				s.goneAt = s.closeAt.Add(clientTimeWait)
			}
		}
		p.at(p.now.Add(hold), func() { p.close(pk, reply) })
	case masq && p.rsAddr[rs.Addr()]:
		p.send(reply, ipvs.TCPRst|ipvs.TCPAck, 40, ipvs.DirOut)
		if s := p.sockOf[pk]; s != nil {
			s.closeAt, s.goneAt = p.now, p.now // connection refused
		}
	default:
		// Silent real server: only a dialling client retransmits.
		p.retrySyn(pk, hold, dial, try)
	}
}

func (p *Player) retrySyn(pk packet, hold time.Duration, dial bool, try int) {
	if !dial || try >= len(synRetries) {
		return
	}
	first := p.now
	if try > 0 {
		first = p.now.Add(-synRetries[try-1])
	}
	p.at(first.Add(synRetries[try]), func() { p.connect(pk, hold, dial, try+1) })
}

// close plays the client's close of an established connection and the
// real server's answer: FIN in, ACK and FIN out, last ACK in.
func (p *Player) close(pk, reply packet) { p.sendFin(pk, reply, 0) }

// finRTO is the retransmission timeout of an unacknowledged FIN on the
// oracle's loopback-fast paths: TCP_RTO_MIN (200 ms), doubling; Linux
// gives up after tcp_retries2 (15) tries.
const finRTO = 200 * time.Millisecond

func (p *Player) sendFin(pk, reply packet, try int) {
	r := p.send(pk, ipvs.TCPFin|ipvs.TCPAck, lenAck, ipvs.DirIn)
	if r.Verdict == ipvs.VerdictDrop && try < 15 {
		// Dropped by the director (its real server was deleted): the
		// client retransmits the FIN.
		p.at(p.now.Add(finRTO<<try), func() { p.sendFin(pk, reply, try+1) })
		return
	}
	if r.Verdict != ipvs.VerdictForward || r.Conn == nil {
		return
	}
	rs := r.Conn.DestAddrPort()
	if rs.Addr() != reply.src || rs.Port() != reply.sport || !p.listen[rs] {
		return
	}
	p.send(reply, ipvs.TCPAck, lenAck, ipvs.DirOut)
	p.send(reply, ipvs.TCPFin|ipvs.TCPAck, lenAck, ipvs.DirOut)
	p.send(pk, ipvs.TCPAck, lenAck, ipvs.DirIn)
}

func (p *Player) dump() {
	fmt.Fprintf(p.w, "ORACLE-BEGIN %d\n", p.step)
	run := func(title string, args ...string) {
		fmt.Fprintf(p.w, "## %s\n", title)
		var buf bytes.Buffer
		oracleIPVSAdm.Run(p.target, args, strings.NewReader(""), &buf, &buf, p.now)
		io.Copy(p.w, &buf)
	}
	run("ipvsadm -L -n", "-L", "-n")
	run("ipvsadm -L -n -c", "-L", "-n", "-c")
	fmt.Fprintln(p.w, "## /proc/net/ip_vs_conn")
	ipvsadm.FormatProcConn(p.w, p.Director.Conns(p.now))
	run("ipvsadm -L -n --stats", "-L", "-n", "--stats")
	fmt.Fprintf(p.w, "ORACLE-END %d\n", p.step)
}
