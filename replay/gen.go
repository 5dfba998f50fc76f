package replay

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Generate writes a random scenario in the oracle's language, the same for
// the same seed: services of every kind (TCP, UDP, fwmark; persistent or
// not; port zero; one-packet), every scheduler of the oracle's kernel,
// real servers with weights, methods and thresholds, and a sequence of
// SYNs, datagrams, edits, deletions, sysctl changes, sleeps and listings.
// Recorded on the oracle and replayed, it checks golvs on combinations no
// one wrote by hand (scripts/oracle-fuzz.sh).
//
// Real servers are silent (SYNs stay in SYN_RECV) except those of "open"
// services, which get complete connections one at a time; the
// timing is kept away from expiry boundaries: either nothing expires (long
// timeouts, a short scenario), or timeouts are short and every burst of
// traffic is followed by a sleep longer than all of them.
func Generate(seed uint64) string {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), expiry: seed%3 == 0}
	g.build()
	return fmt.Sprintf("# random scenario %d (replay.Generate)%s\n", seed, g.what()) + g.b.String()
}

type genDest struct {
	addr   string // "10.8.0.N"
	port   int    // 0 for fwmark and port-zero services
	weight int
	method string
	upper  int
	live   bool
}

type genSvc struct {
	proto   string // "t", "u" or "f"
	vip     string
	port    int
	mark    int
	vips    []string // fwmark: the marked addresses
	sched   string
	persist int
	mask    string
	ops     bool
	dests   []*genDest
	live    bool
	// v6: an IPv6 service, configuration only (the oracle's traffic is
	// IPv4): edits and listings.
	v6 bool
	// open: its real servers listen (rs-up), and its traffic is complete
	// connections (tcp-open), each followed by a sleep that lets it close
	// before the next step, so that no decision depends on when it does.
	open bool
}

type gen struct {
	r       *rand.Rand
	b       strings.Builder
	expiry  bool
	svcs    []*genSvc
	nextRIP int
	nextCP  int
	tuples  []string // client tuples used, for reuse
	burst   int      // traffic lines since the last long sleep (expiry mode)
	opens   int      // tcp-open lines
}

var genScheds = []string{"rr", "wrr", "lc", "wlc", "sed", "nq", "lblc", "lblcr", "dh", "sh", "mh", "fo", "ovf"}

func (g *gen) line(f string, a ...any) { fmt.Fprintf(&g.b, f+"\n", a...) }

func (g *gen) pick(n int) int { return g.r.IntN(n) }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func (g *gen) what() string {
	if g.expiry {
		return ": short timeouts, bursts separated by sleeps past them"
	}
	return ": long timeouts, nothing expires"
}

func (g *gen) build() {
	g.line("ip netns exec r sysctl -qw net.ipv4.ip_forward=0")
	if g.expiry {
		g.line("ipvsadm --set 0 0 3")
	}
	for _, name := range []string{"expire_nodest_conn", "expire_quiescent_template", "sloppy_tcp"} {
		if g.chance(0.3) {
			g.line("sysctl -w net.ipv4.vs.%s=1", name)
		}
	}
	if g.chance(0.3) {
		g.line("sysctl -w net.ipv4.vs.conn_reuse_mode=%d", g.pick(3))
	}
	nsvc := 1 + g.pick(3)
	marked := false
	for i := 0; i < nsvc; i++ {
		var s *genSvc
		if i > 0 && g.chance(0.2) {
			s = g.newService6(i)
		} else {
			s = g.newService(i, &marked)
		}
		g.svcs = append(g.svcs, s)
		g.addService(s)
		for n := 1 + g.pick(4); n > 0; n-- {
			g.addDest(s, g.newDest(s))
		}
	}
	events := 18 + g.pick(20)
	every := 7
	if g.expiry {
		// At most four bursts: the scenario ends before the first SYN's
		// 60 s SYN_RECV timeout.
		events, every = 10+g.pick(9), 5
	}
	for i := 0; i < events; i++ {
		g.event()
		if i%every == every-1 {
			g.line("dump")
			g.endBurst()
		}
	}
	g.line("dump")
	if g.endBurst() {
		g.line("dump")
	}
}

func (g *gen) newService(i int, marked *bool) *genSvc {
	s := &genSvc{sched: genScheds[g.pick(len(genScheds))], live: true}
	switch k := g.pick(10); {
	case k < 2 && !*marked:
		*marked = true
		s.proto, s.mark = "f", 1+g.pick(9)
		s.vips = []string{fmt.Sprintf("10.0.0.%d", 1+g.pick(3))}
		if g.chance(0.5) {
			s.vips = []string{"10.0.0.1", "10.0.0.2"}
		}
		g.line("nft add table ip mangle")
		g.line("nft add chain ip mangle pre { type filter hook prerouting priority -150 ; }")
		if len(s.vips) == 1 {
			g.line("nft add rule ip mangle pre ip daddr %s meta mark set %d", s.vips[0], s.mark)
		} else {
			g.line("nft add rule ip mangle pre ip daddr { %s } meta mark set %d", strings.Join(s.vips, ", "), s.mark)
		}
	case k < 6:
		s.proto = "t"
	default:
		s.proto = "u"
	}
	if s.proto != "f" {
		// Distinct virtual addresses and ports per service.
		s.vip = fmt.Sprintf("10.0.0.%d", 1+i)
		ports := []int{80, 443, 8080}
		if s.proto == "u" {
			ports = []int{53, 123, 5000}
		}
		s.port = ports[g.pick(len(ports))]
		if s.proto == "t" && g.chance(0.1) {
			s.port = 21
		}
	}
	if g.chance(0.55) {
		s.persist = 60 + 60*g.pick(5)
		if g.expiry {
			s.persist = 6 + g.pick(3)
		}
		s.mask = []string{"255.255.255.255", "255.255.255.0", "255.255.0.0"}[g.pick(3)]
		if s.proto != "f" && g.chance(0.2) {
			s.port = 0
		}
	}
	s.ops = s.proto == "u" && g.chance(0.25)
	s.open = !g.expiry && s.proto == "t" && s.port != 0 && s.port != 21 && g.chance(0.35)
	return s
}

// newService6 makes an IPv6 service: TCP or UDP, persistent with a
// prefix length or not.
func (g *gen) newService6(i int) *genSvc {
	s := &genSvc{v6: true, live: true, sched: genScheds[g.pick(len(genScheds))], proto: "t", port: 80}
	if g.chance(0.4) {
		s.proto, s.port = "u", 53
	}
	s.vip = fmt.Sprintf("[2001:db8::%d]", i+1)
	if g.chance(0.5) {
		s.persist = 60 + 60*g.pick(5)
		s.mask = []string{"128", "64", "48"}[g.pick(3)]
	}
	return s
}

func (s *genSvc) key() string {
	if s.proto == "f" {
		return fmt.Sprintf("-f %d", s.mark)
	}
	return fmt.Sprintf("-%s %s:%d", s.proto, s.vip, s.port)
}

func (g *gen) addService(s *genSvc) {
	opts := ""
	if s.persist > 0 {
		opts += fmt.Sprintf(" -p %d -M %s", s.persist, s.mask)
	}
	if s.ops {
		opts += " -o"
	}
	if (s.sched == "sh" || s.sched == "mh") && g.chance(0.4) {
		flags := []string{s.sched + "-fallback", s.sched + "-port", s.sched + "-fallback," + s.sched + "-port"}
		opts += " -b " + flags[g.pick(len(flags))]
	}
	g.line("ipvsadm -A %s -s %s%s", s.key(), s.sched, opts)
}

func (g *gen) newDest(s *genSvc) *genDest {
	g.nextRIP = g.nextRIP%20 + 1
	d := &genDest{addr: fmt.Sprintf("10.8.0.%d", g.nextRIP), weight: 1 + g.pick(3), method: "-m", live: true}
	if s.v6 {
		d.addr = fmt.Sprintf("[2001:db8:8::%x]", g.nextRIP)
	}
	if g.chance(0.1) {
		d.weight = 0
	}
	if g.chance(0.1) && !s.open {
		d.method = "-g"
	}
	if g.chance(0.15) {
		d.upper = 1 + g.pick(3)
	}
	if s.proto != "f" && s.port != 0 {
		d.port = s.port
		if g.chance(0.2) {
			d.port = s.port + 1000
		}
	}
	return d
}

func (d *genDest) rs() string {
	if d.port == 0 {
		return d.addr
	}
	return fmt.Sprintf("%s:%d", d.addr, d.port)
}

func (g *gen) destOpts(d *genDest) string {
	o := fmt.Sprintf("%s -w %d", d.method, d.weight)
	if d.upper > 0 {
		o += fmt.Sprintf(" -x %d", d.upper)
	}
	return o
}

func (g *gen) addDest(s *genSvc, d *genDest) {
	for _, x := range s.dests {
		if x.live && x.addr == d.addr && x.port == d.port {
			return
		}
	}
	d.live = true
	s.dests = append(s.dests, d)
	g.line("ipvsadm -a %s -r %s %s", s.key(), d.rs(), g.destOpts(d))
	if s.open {
		g.line("rs-up %s %d", d.addr, d.port)
	}
}

func (g *gen) liveSvc() *genSvc { return pickLive(g, g.svcs, func(s *genSvc) bool { return s.live }) }

func (g *gen) liveDest(s *genSvc) *genDest {
	return pickLive(g, s.dests, func(d *genDest) bool { return d.live })
}

// pickLive returns one of the items that live accepts, nil when none does.
func pickLive[T any](g *gen, items []*T, live func(*T) bool) *T {
	var l []*T
	for _, x := range items {
		if live(x) {
			l = append(l, x)
		}
	}
	if len(l) == 0 {
		return nil
	}
	return l[g.pick(len(l))]
}

// endBurst ends a burst of traffic (at most 5 events, about a second of
// the guest's time) in expiry mode: with a sleep past every timeout (UDP
// 3 s, persistence 6 to 8 s), so that no entry is near its expiry when a
// listing is taken. It reports whether it slept.
//
// A template outlives its connections by 1.5 s at least: when one fired
// within a timer-wheel bucket (256 ms) of its last connection, which of
// the two fires first, and so whether the template is re-armed for 60 s
// or freed, would depend on the guest's timing (seed 48 of an earlier
// generator, with 4 s for both).
func (g *gen) endBurst() bool {
	if !g.expiry || g.burst == 0 {
		return false
	}
	g.line("sleep %d", 11+g.pick(2))
	g.burst = 0
	return true
}

func (g *gen) event() {
	s := g.liveSvc()
	switch k := g.pick(100); {
	case s == nil:
		g.line("sleep 1")
	case k < 50:
		g.traffic(s)
	case k < 56:
		if d := g.liveDest(s); d != nil {
			d.weight = g.pick(4)
			g.line("ipvsadm -e %s -r %s %s", s.key(), d.rs(), g.destOpts(d))
		}
	case k < 60:
		if d := g.liveDest(s); d != nil {
			d.live = false
			g.line("ipvsadm -d %s -r %s", s.key(), d.rs())
		}
	case k < 65:
		// A new real server, or one deleted before (from the trash).
		var back *genDest
		for _, d := range s.dests {
			if !d.live {
				back = d
			}
		}
		if back != nil && g.chance(0.6) {
			s.dests = removeDest(s.dests, back)
			g.addDest(s, back)
		} else {
			g.addDest(s, g.newDest(s))
		}
	case k < 69:
		g.editService(s)
	case k < 74:
		names := []string{"expire_nodest_conn", "expire_quiescent_template", "sloppy_tcp"}
		if g.chance(0.3) {
			g.line("sysctl -w net.ipv4.vs.conn_reuse_mode=%d", g.pick(3))
		} else {
			g.line("sysctl -w net.ipv4.vs.%s=%d", names[g.pick(len(names))], g.pick(2))
		}
	case k < 76:
		// Counts not yet folded by the 2 s estimator when -Z takes the
		// folded ones as its zero point show up after the next tick: a
		// sleep first, so that the estimator's phase, which the oracle
		// does not show, cannot matter.
		if !g.endBurst() && !g.expiry {
			g.line("sleep 2")
		}
		g.line("ipvsadm -Z")
	case k < 78 && len(g.svcs) > 1:
		again := g.chance(0.5)
		if again && !g.endBurst() && !g.expiry {
			// A dest back from the trash in a new service has its
			// statistics zeroed at their folded values (ip_vs_ctl.c:
			// __ip_vs_update_dest): as for -Z, a sleep first, so that
			// the estimator's phase cannot matter (seed 69 of an
			// earlier generator).
			g.line("sleep 2")
		}
		s.live = false
		g.line("ipvsadm -D %s", s.key())
		if again {
			// Made again at once: its old real servers come back from
			// the trash, with the entries that still point to them.
			s.live = true
			old := s.dests
			s.dests = nil
			g.addService(s)
			for _, d := range old {
				if g.chance(0.6) {
					g.addDest(s, d)
				}
			}
			if len(s.dests) == 0 || g.chance(0.3) {
				g.addDest(s, g.newDest(s))
			}
		}
	case k < 81:
		listings := []string{"ipvsadm -L -n --persistent-conn", "ipvsadm -L -n --thresholds", "ipvsadm -S -n", "ipvsadm -L -n -c --sort"}
		g.line("%s", listings[g.pick(len(listings))])
	case k < 86 && !g.expiry:
		g.line("sleep %d", 1+g.pick(2))
	default:
		g.traffic(s)
	}
}

func removeDest(l []*genDest, d *genDest) []*genDest {
	out := l[:0]
	for _, x := range l {
		if x != d {
			out = append(out, x)
		}
	}
	return out
}

func (g *gen) editService(s *genSvc) {
	opts := ""
	switch g.pick(3) {
	case 0:
		s.sched = genScheds[g.pick(len(genScheds))]
		opts = " -s " + s.sched
	case 1:
		s.sched = "wlc" // -E without -s resets the scheduler
	default:
		opts = " -s " + s.sched
	}
	if s.persist > 0 || (s.port != 0 && g.chance(0.3)) {
		if s.persist == 0 || g.chance(0.5) {
			s.persist = 60 + 60*g.pick(5)
			if g.expiry {
				s.persist = 6 + g.pick(3)
			}
			s.mask = []string{"255.255.255.255", "255.255.255.0", "255.255.0.0"}[g.pick(3)]
			if s.v6 {
				s.mask = []string{"128", "64", "48"}[g.pick(3)]
			}
		}
		opts += fmt.Sprintf(" -p %d -M %s", s.persist, s.mask)
	}
	if s.ops {
		opts += " -o"
	}
	g.line("ipvsadm -E %s%s", s.key(), opts)
}

// traffic sends a SYN or a datagram to s from one of a few clients in
// three /24 networks; sometimes it repeats an earlier tuple.
func (g *gen) traffic(s *genSvc) {
	if s.v6 {
		g.line("ipvsadm -L -n %s", s.key())
		return
	}
	g.burst++
	if s.open {
		if g.opens >= 4 {
			g.line("sleep 1")
			return
		}
		g.opens++
		g.nextCP++
		g.line("tcp-open 10.9.%d.%d %d %s %d 1", 20+g.pick(3), 1+g.pick(4), 41000+g.nextCP, s.vip, s.port)
		g.line("sleep 2")
		return
	}
	if len(g.tuples) > 0 && g.chance(0.12) {
		g.line("%s", g.tuples[g.pick(len(g.tuples))])
		return
	}
	cip := fmt.Sprintf("10.9.%d.%d", 20+g.pick(3), 1+g.pick(4))
	g.nextCP++
	cport := 41000 + g.nextCP
	if s.port == 21 && g.chance(0.3) {
		cport = 20 // FTP data: never scheduled
	}
	cmd, vip, vport := "tcp", s.vip, s.port
	switch {
	case s.proto == "u":
		cmd = "udp"
	case s.proto == "f":
		vip = s.vips[g.pick(len(s.vips))]
		vport = []int{80, 443}[g.pick(2)]
		if g.chance(0.4) {
			cmd, vport = "udp", 53
		}
	}
	if s.port == 0 && s.proto != "f" {
		vport = []int{80, 443, 8080, 53}[g.pick(4)]
	} else if s.proto != "f" && g.chance(0.08) {
		vport = s.port + 1 // no service there (or the port-zero one)
	}
	t := fmt.Sprintf("%s %s %d %s %d", cmd, cip, cport, vip, vport)
	g.tuples = append(g.tuples, t)
	g.line("%s", t)
}
