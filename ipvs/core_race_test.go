package ipvs_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
)

// TestConcurrentProcessAndConfig runs many goroutines processing packets
// (new connections from shared client networks, packets of existing
// connections, replies, Explain and listings) while one goroutine changes
// the configuration and advances time. Run it with -race. Afterwards the
// director's invariants must hold and everything must expire.
func TestConcurrentProcessAndConfig(t *testing.T) {
	defer memGuard(t.Name(), 1<<30)()
	r := newRig(t, nil)
	p := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(20), netmask("255.255.255.0"))
	n := r.addSvc(tcpSvc("10.0.0.1:81"), "wlc")
	u := r.addSvc(udpSvc("10.0.0.2:53"), "wrr", persist(10))
	f := r.addSvc(fwmSvc(3), "lc", persist(15))
	dests := map[ipvs.ServiceKey][]string{
		p: {"10.8.1.1:80", "10.8.1.2:80", "10.8.1.3:80"},
		n: {"10.8.2.1:81", "10.8.2.2:81"},
		u: {"10.8.3.1:53", "10.8.3.2:53"},
		f: {"10.8.4.1:0", "10.8.4.2:0"},
	}
	keys := []ipvs.ServiceKey{p, n, u, f}
	for _, k := range keys {
		for _, d := range dests[k] {
			r.addDest(k, d)
		}
	}

	var now atomic.Int64
	const workers = 8
	iters := 20000
	if testing.Short() {
		iters = 500
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; i < iters; i++ {
				t := ipvs.Time(now.Load())
				// Few client networks and ports, so goroutines race on the
				// same templates and connections.
				cl := netip.AddrFrom4([4]byte{10, 9, byte(rng.IntN(3)), byte(1 + rng.IntN(3))})
				src := netip.AddrPortFrom(cl, uint16(1000+rng.IntN(40))).String()
				var pk *ipvs.Packet
				switch rng.IntN(8) {
				case 0, 1:
					pk = syn(src, "10.0.0.1:80")
				case 2:
					pk = syn(src, "10.0.0.1:81")
				case 3:
					pk = udpPkt(src, "10.0.0.2:53")
				case 4:
					pk = marked(syn(src, "10.0.0.3:443"), 3)
				case 5:
					pk = tcpPkt(src, "10.0.0.1:80", []uint8{ipvs.TCPAck, ipvs.TCPFin | ipvs.TCPAck, ipvs.TCPRst}[rng.IntN(3)])
				case 6:
					d := dests[p][rng.IntN(3)]
					pk = reply(d, src, ipvs.TCPSyn|ipvs.TCPAck)
				default:
					pk = ack(src, "10.0.0.1:80")
					if rng.IntN(4) == 0 {
						r.d.Explain(*pk, t)
						continue
					}
				}
				res := r.d.Process(pk, t)
				if res.Conn != nil {
					_ = res.Conn.DestAddrPort()
					_ = res.Conn.StateName()
				}
			}
		}(w)
	}
	// Readers: listings while traffic flows.
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = r.d.Conns(ipvs.Time(now.Load()))
			_ = r.d.Services()
			_ = r.d.ConnCount()
			time.Sleep(time.Millisecond)
		}
	}()
	// The configuration goroutine: weights, deletes and re-adds, settings,
	// scheduler changes, and the clock.
	bg.Add(1)
	go func() {
		defer bg.Done()
		rng := rand.New(rand.NewPCG(99, 7))
		deleted := map[string]bool{}
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := keys[rng.IntN(len(keys))]
			ds := dests[k]
			d := ds[rng.IntN(len(ds))]
			switch rng.IntN(7) {
			case 0, 1:
				if !deleted[d] {
					_ = r.d.EditDest(k, destCfg(d, weight(int32(rng.IntN(3)))))
				}
			case 2:
				if !deleted[d] {
					a := ap(d)
					if r.d.DelDest(k, a.Addr(), a.Port()) == nil {
						deleted[d] = true
					}
				}
			case 3:
				if deleted[d] && r.d.AddDest(k, destCfg(d)) == nil {
					deleted[d] = false
				}
			case 4:
				s := r.d.Settings()
				s.ExpireNodestConn = rng.IntN(2) == 0
				s.ExpireQuiescentTemplate = rng.IntN(2) == 0
				s.SloppyTCP = rng.IntN(4) == 0
				r.d.SetSettings(s)
			case 5:
				if k == n {
					_ = r.d.EditService(ipvs.ServiceConfig{ServiceKey: n, Scheduler: []string{"wlc", "rr", "sh"}[rng.IntN(3)]})
				}
			default:
				t := now.Add(int64(time.Duration(rng.IntN(3000)) * time.Millisecond))
				r.d.Advance(ipvs.Time(t))
			}
			time.Sleep(time.Millisecond)
		}
	}()
	wg.Wait()
	close(stop)
	bg.Wait()

	r.now = ipvs.Time(now.Load())
	r.d.Advance(r.now)
	checkInvariants(t, r.d, r.now)
	r.now = r.now.Add(3 * time.Hour)
	r.d.Advance(r.now)
	checkInvariants(t, r.d, r.now)
	if c := r.d.ConnCount(); c != 0 {
		t.Fatalf("%d entries left after 3 idle hours", c)
	}
}

// TestConcurrentTemplateInvalidation makes many goroutines meet the same
// invalid template at once (ip_vs_check_template re-keys it to port 65535):
// each round creates templates, quiesces their real server with
// expire_quiescent_template=1, then releases 8 goroutines sending SYNs of
// the same client networks together. Run it with -race. The table must
// stay consistent: every template re-keyed once, counters equal to the
// table, lookups terminating.
func TestConcurrentTemplateInvalidation(t *testing.T) {
	defer memGuard(t.Name(), 1<<30)()
	r := newRig(t, func(s *ipvs.Settings) { s.ExpireQuiescentTemplate = true })
	k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(600), netmask("255.255.255.0"))
	r.addDest(k, "10.8.1.1:80")
	r.addDest(k, "10.8.1.2:80")
	rounds := 400
	if testing.Short() {
		rounds = 30
	}
	port := uint16(1000)
	for round := 0; round < rounds; round++ {
		// Both dests up; one SYN per network creates (or reuses) templates.
		r.editDest(k, "10.8.1.1:80", weight(1))
		r.editDest(k, "10.8.1.2:80", weight(1))
		for n := 0; n < 4; n++ {
			port++
			r.send(syn(fmt.Sprintf("10.9.%d.1:%d", n, port), "10.0.0.1:80"))
		}
		// Quiesce one: its templates become invalid.
		victim := []string{"10.8.1.1:80", "10.8.1.2:80"}[round%2]
		r.editDest(k, victim, weight(0))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			port++
			go func(w int, port uint16) {
				defer wg.Done()
				<-start
				src := fmt.Sprintf("10.9.%d.%d:%d", w%4, 2+w/4, port)
				r.d.Process(syn(src, "10.0.0.1:80"), r.now)
			}(w, port)
		}
		close(start)
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			// A goroutine spinning in a looping chain holds the director's
			// read lock forever: end the binary with a clear message.
			panic(fmt.Sprintf("round %d: Process did not return in 30 s (connection table chain loop?)", round))
		}
		checkInvariants(t, r.d, r.now)
		r.at(float64(round+1) * 0.5)
	}
	r.now = r.now.Add(3 * time.Hour)
	r.d.Advance(r.now)
	checkInvariants(t, r.d, r.now)
	if c := r.d.ConnCount(); c != 0 {
		t.Fatalf("%d entries left after 3 idle hours", c)
	}
}

// TestLookupDuringChurn pins the lock-free lookup (table.go: index): while
// goroutines create connections and time advances so that others expire
// (slots turn to tombstones, arrays are rebuilt and grow), a connection
// that stays in the table is found by every lookup, never missed. Run it
// with -race.
func TestLookupDuringChurn(t *testing.T) {
	r := newRig(t, nil)
	k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
	for _, d := range []string{"10.8.1.1:80", "10.8.1.2:80", "10.8.1.3:80"} {
		r.addDest(k, d)
	}
	vip := netip.MustParseAddr("10.0.0.1")
	// Stable connections: established (900 s), the churn lives 60 s.
	stable := make([]ipvs.Packet, 300)
	for i := range stable {
		cl := netip.AddrFrom4([4]byte{10, 7, byte(i >> 8), byte(i)})
		p := ipvs.Packet{Protocol: ipvs.ProtoTCP, Src: cl, SrcPort: 2000, Dst: vip, DstPort: 80, TCPFlags: ipvs.TCPSyn, Len: 60}
		res := r.d.Process(&p, 0)
		if !res.New {
			t.Fatalf("stable %d: %v", i, res.Reason)
		}
		rs := res.Conn.DestAddrPort()
		reply := ipvs.Packet{Protocol: ipvs.ProtoTCP, Dir: ipvs.DirOut, Src: rs.Addr(), SrcPort: rs.Port(), Dst: cl, DstPort: 2000,
			TCPFlags: ipvs.TCPSyn | ipvs.TCPAck, Len: 60}
		r.d.Process(&reply, 0)
		p.TCPFlags = ipvs.TCPAck
		r.d.Process(&p, 0)
		stable[i] = p
	}
	iters := 20000
	if testing.Short() {
		iters = 2000
	}
	var now atomic.Int64
	var wg sync.WaitGroup
	var missed atomic.Int64
	done := make(chan struct{})
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) { // churn
			defer wg.Done()
			for i := 0; i < iters; i++ {
				cl := netip.AddrFrom4([4]byte{10, 9, byte(w), byte(i >> 8)})
				p := ipvs.Packet{Protocol: ipvs.ProtoTCP, Src: cl, SrcPort: uint16(1024 + i&0xff), Dst: vip, DstPort: 80,
					TCPFlags: ipvs.TCPSyn, Len: 60}
				r.d.Process(&p, ipvs.Time(now.Load()))
			}
		}(w)
	}
	wg.Add(1)
	go func() { // time: 5 s per step, up to 400 s (the churn expires, the stable stay)
		defer wg.Done()
		for s := 1; s <= 80; s++ {
			now.Store(int64(time.Duration(5*s) * time.Second))
			r.d.Advance(ipvs.Time(now.Load()))
			runtime.Gosched()
		}
	}()
	var lwg sync.WaitGroup
	for l := 0; l < 2; l++ {
		lwg.Add(1)
		go func() { // lookups until the others are done
			defer lwg.Done()
			for {
				for i := range stable {
					if r.d.Lookup(&stable[i]) == nil {
						missed.Add(1)
					}
				}
				select {
				case <-done:
					return
				default:
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	lwg.Wait()
	if n := missed.Load(); n != 0 {
		t.Fatalf("%d lookups of connections in the table found nothing", n)
	}
	for i := range stable {
		if r.d.Lookup(&stable[i]) == nil {
			t.Fatalf("stable connection %d gone", i)
		}
	}
}
