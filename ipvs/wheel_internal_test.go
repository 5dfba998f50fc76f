package ipvs

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"sync"
	"testing"
	"time"
)

// stripedPair is two directors with the same configuration: one runs
// every packet on stripe 0, so all its timers share one wheel; the other
// on a stripe drawn at random per packet, as packets on several cores do.
type stripedPair struct {
	t         *testing.T
	one, many *Director
	rnd       *rand.Rand
	now       Time
}

func newStripedPair(t *testing.T, seed uint64) *stripedPair {
	mk := func() *Director {
		d := NewDirector(&Config{Schedulers: func(string) (Scheduler, error) { return &cycler{}, nil }})
		d.Advance(0)
		for _, sc := range []ServiceConfig{
			// Persistence shorter than SYN_RECV's 60 s: a template re-armed
			// 30 s after a connection's SYN fires in its bucket.
			{ServiceKey: ServiceKey{Family: AFInet, Protocol: ProtoTCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80},
				Scheduler: "rr", Flags: SvcPersistent, Timeout: 30, Netmask: 0xffffff00, NetmaskSet: true},
			{ServiceKey: ServiceKey{Family: AFInet, Protocol: ProtoTCP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 0},
				Scheduler: "rr", Flags: SvcPersistent, Timeout: 60},
			{ServiceKey: ServiceKey{Family: AFInet, Protocol: ProtoUDP, Addr: netip.MustParseAddr("10.0.0.1"), Port: 53},
				Scheduler: "rr", Flags: SvcPersistent, Timeout: 300},
		} {
			if err := d.AddService(sc); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 3; i++ {
				dc := DestConfig{Addr: netip.AddrFrom4([4]byte{10, 8, 0, byte(i + 1)}), Port: sc.Port, Method: FwdMasq, Weight: 1}
				if err := d.AddDest(sc.ServiceKey, dc); err != nil {
					t.Fatal(err)
				}
			}
		}
		return d
	}
	return &stripedPair{t: t, one: mk(), many: mk(), rnd: rand.New(rand.NewPCG(seed, 7))}
}

// check fails unless both directors list the same entries and services.
func (sp *stripedPair) check(what string) {
	sp.t.Helper()
	a, b := sp.one.Conns(sp.now), sp.many.Conns(sp.now)
	for i := range a {
		a[i].Seq = 0
	}
	for i := range b {
		b[i].Seq = 0
	}
	if !reflect.DeepEqual(a, b) {
		sp.t.Fatalf("%s: entries differ\none wheel:    %+v\nmany wheels: %+v", what, a, b)
	}
	if x, y := sp.one.Services(), sp.many.Services(); !reflect.DeepEqual(x, y) {
		sp.t.Fatalf("%s: services differ\none wheel:    %+v\nmany wheels: %+v", what, x, y)
	}
}

func (sp *stripedPair) send(p Packet) {
	sp.one.process(&p, sp.now, 0)
	q := p
	sp.many.process(&q, sp.now, uint(sp.rnd.IntN(wheelCount)))
}

func (sp *stripedPair) advance(d time.Duration) {
	sp.now = sp.now.Add(d)
	sp.one.Advance(sp.now)
	sp.many.Advance(sp.now)
}

// TestStripesKeepFiringOrder: a packet arms its timers on its processor's
// wheel (timerSet), so an entry and its template may wait on different
// wheels for the same bucket; the kernel's single list fires the newer
// first (kernel/time/timer.c: expire_timers), which decides whether the
// template finds no connection and goes, or is re-armed for 60 s
// (ip_vs_conn.c: ip_vs_conn_expire). A director whose packets run on
// random stripes behaves exactly as one whose packets all run on one.
func TestStripesKeepFiringOrder(t *testing.T) {
	vip := netip.MustParseAddr("10.0.0.1")
	t.Run("template re-armed into a connection's bucket", func(t *testing.T) {
		// SYN at 0: template (30 s) and connection (SYN_RECV, 60 s). A
		// second connection at 30 s re-arms the template into the first
		// connection's bucket, after it; ACK and RST (CLOSE, 10 s) end the
		// second one before. At 60 s the kernel fires the template first:
		// it still controls the first connection and is re-armed for 60 s.
		for seed := uint64(0); seed < 40; seed++ {
			sp := newStripedPair(t, seed)
			c1 := Packet{Protocol: ProtoTCP, Src: netip.MustParseAddr("10.9.1.1"), SrcPort: 1000, Dst: vip, DstPort: 80, TCPFlags: TCPSyn, Len: 60}
			sp.send(c1)
			sp.advance(30 * time.Second)
			c2 := c1
			c2.SrcPort = 1001
			sp.send(c2)
			c2.TCPFlags = TCPAck
			sp.send(c2)
			c2.TCPFlags = TCPRst
			sp.send(c2)
			sp.check("after the second connection")
			for i := 0; i < 80; i++ {
				sp.advance(time.Second)
				sp.check(fmt.Sprintf("seed %d at %v", seed, sp.now))
			}
			if tpl := countTemplates(sp.one.Conns(sp.now)); tpl != 1 {
				t.Fatalf("seed %d: %d templates at %v, want 1 (re-armed for 60 s)", seed, tpl, sp.now)
			}
		}
	})
	t.Run("random traffic", func(t *testing.T) {
		steps := []time.Duration{0, 0, Jiffy, 500 * time.Millisecond, 2 * time.Second, 10 * time.Second, 30 * time.Second}
		var cross int
		for seed := uint64(1); seed <= 12; seed++ {
			sp := newStripedPair(t, seed)
			r := rand.New(rand.NewPCG(seed, 99))
			for i := 0; i < 3000; i++ {
				src := netip.AddrFrom4([4]byte{10, 9, byte(r.IntN(3)), byte(1 + r.IntN(3))})
				p := Packet{Protocol: ProtoTCP, Src: src, SrcPort: uint16(1000 + r.IntN(6)), Dst: vip, DstPort: 80, Len: 60}
				switch r.IntN(10) {
				case 0:
					p.DstPort = uint16(8000 + r.IntN(2)) // the port-zero service
				case 1:
					p.Protocol, p.DstPort = ProtoUDP, 53
				}
				switch r.IntN(8) {
				case 0, 1, 2:
					p.TCPFlags = TCPSyn
				case 3, 4:
					p.TCPFlags = TCPAck
				case 5:
					p.TCPFlags = TCPFin | TCPAck
				case 6:
					p.TCPFlags = TCPRst
				case 7:
					p.Dir = DirOut // a reply from the real server
					p.TCPFlags = TCPAck | TCPSyn
					p.Src, p.Dst = netip.AddrFrom4([4]byte{10, 8, 0, byte(1 + r.IntN(3))}), src
					p.SrcPort, p.DstPort = p.DstPort, p.SrcPort
					if p.Protocol == ProtoUDP {
						p.SrcPort = 53
					}
				}
				sp.send(p)
				sp.advance(steps[r.IntN(len(steps))])
				sp.check(fmt.Sprintf("seed %d step %d", seed, i))
			}
			cross += sp.many.waited
		}
		if sp := newStripedPair(t, 0); sp.one.waited != 0 {
			t.Fatal("one wheel: entries waited for their controller")
		}
		if cross == 0 {
			t.Fatal("no entry fired after its controller from another wheel: the test misses its case")
		}
		t.Logf("%d entries fired after their controller from another wheel", cross)
	})
}

func countTemplates(cs []ConnInfo) int {
	n := 0
	for _, c := range cs {
		if c.Template {
			n++
		}
	}
	return n
}

// checkWheels returns what is wrong with the wheels' lists: every entry in
// a bucket's list has that bucket as its own, with consistent links, and
// is in one list only; every entry of es that has a pending bucket is in
// its list.
func checkWheels(tab *table, es []*Conn) string {
	inList := map[*Conn]*bucket{}
	for i := range tab.wheels {
		w := &tab.wheels[i]
		for _, b := range w.due {
			n := 0
			for k, c := range b.cs {
				if c == nil {
					continue
				}
				n++
				if int(c.tidx) != k {
					return fmt.Sprintf("wheel %d: an entry's position is wrong", i)
				}
				if c.tb.Load() != b {
					return fmt.Sprintf("wheel %d: an entry in a bucket's list has another bucket", i)
				}
				if inList[c] != nil {
					return fmt.Sprintf("wheel %d: an entry is in two lists", i)
				}
				inList[c] = b
			}
			if n != b.n {
				return fmt.Sprintf("wheel %d: a bucket counts %d entries, holds %d", i, b.n, n)
			}
		}
	}
	for _, c := range es {
		if b := c.tb.Load(); b != nil && !b.firing && inList[c] != b {
			return "a pending entry is not in its bucket's list"
		}
	}
	return ""
}

// TestConcurrentArmsOnManyWheels: packets on several processors arm the
// same entries at once (a new template and its connections: timerSet on
// each processor's wheel). Two of them must never link one entry into
// two wheels' lists, also when it has no bucket yet.
func TestConcurrentArmsOnManyWheels(t *testing.T) {
	tab := newTable()
	now := Time(100 * time.Second)
	rounds := 3000
	if testing.Short() {
		rounds = 300
	}
	var all []*Conn
	for round := 0; round < rounds; round++ {
		tpl := &Conn{}
		tpl.kind.Store(ConnTemplate)
		es := []*Conn{tpl, {control: tpl}, {control: tpl}}
		all = append(all, es...)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := 0; g < wheelCount; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				<-start
				for i, c := range es {
					// Timeouts that put some arms in the template's bucket
					// and move others between buckets.
					d := time.Duration(60+(g+i)%3*30) * time.Second
					tab.timerSet(c, now, d, uint(g))
				}
			}(g)
		}
		close(start)
		wg.Wait()
		if m := checkWheels(tab, all); m != "" {
			t.Fatalf("round %d: %s", round, m)
		}
		now = now.Add(Jiffy)
	}
}
