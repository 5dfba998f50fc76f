package ipvs_test

// Benchmarks of the packet-to-decision path and of the connection table's
// memory. Commands and results: BENCHMARKS-core.md at the repository root.

import (
	"fmt"
	"net/netip"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
)

// benchClient returns a distinct client address for i (10.x.y.z, x >= 16).
func benchClient(i uint32) netip.Addr {
	i += 16 << 16
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

func benchDirector(b *testing.B, opts ...svcOpt) (*ipvs.Director, ipvs.ServiceKey) {
	b.Helper()
	r := newRig(b, nil)
	k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", opts...)
	for i := 1; i <= 8; i++ {
		r.addDest(k, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 8, 0, byte(i)}), 80).String())
	}
	return r.d, k
}

// openConns opens n connections to 10.0.0.1:80, one per client, and
// returns an ACK of each.
func openConns(b *testing.B, d *ipvs.Director, n int) []ipvs.Packet {
	pkts := make([]ipvs.Packet, n)
	vip := netip.MustParseAddr("10.0.0.1")
	for i := range pkts {
		p := ipvs.Packet{Protocol: ipvs.ProtoTCP, Src: benchClient(uint32(i)), SrcPort: 40000, Dst: vip, DstPort: 80,
			TCPFlags: ipvs.TCPSyn, Len: 60}
		if res := d.Process(&p, 0); !res.New {
			b.Fatalf("setup: %v/%v", res.Verdict, res.Reason)
		}
		p.TCPFlags = ipvs.TCPAck
		pkts[i] = p
	}
	return pkts
}

// BenchmarkProcessExisting: a packet (ACK) of an existing connection in a
// table of 100 000 connections: ip_vs_conn_in_get, state transition, timer
// restart. Parallel: each goroutine walks its own share of connections.
func BenchmarkProcessExisting(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts []svcOpt
	}{{"plain", nil}, {"persistent", []svcOpt{persist(3600)}}} {
		b.Run(tc.name, func(b *testing.B) {
			d, _ := benchDirector(b, tc.opts...)
			const n = 100_000
			pkts := openConns(b, d, n)
			var seq atomic.Uint32
			now := ipvs.Time(time.Second)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := seq.Add(7919) * 104729 % n
				for pb.Next() {
					if res := d.Process(&pkts[i], now); res.Verdict != ipvs.VerdictForward {
						b.Fatalf("existing connection not found: %v", res.Reason)
					}
					i++
					if i == n {
						i = 0
					}
				}
			})
		})
	}
}

// BenchmarkLookupExisting: only the lookup of an existing connection
// (ip_vs_conn_in_get) in a table of 100 000 connections, without the state
// machine, statistics and timer work of Process.
func BenchmarkLookupExisting(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("conns=%d", n), func(b *testing.B) {
			d, _ := benchDirector(b)
			pkts := openConns(b, d, n)
			var seq atomic.Uint32
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(seq.Add(7919) * 104729 % uint32(n))
				for pb.Next() {
					if d.Lookup(&pkts[i]) == nil {
						b.Fatal("existing connection not found")
					}
					i++
					if i == n {
						i = 0
					}
				}
			})
		})
	}
}

// clock is the benchmarks' shared virtual clock: each new connection moves
// it by step, and every 1024th operation of a goroutine fires the due
// timers, so the table stays bounded (see tableSizes) and expiry is part
// of the measured cost.
// Goroutines take time and tuple numbers in blocks of 64, so that the
// harness itself does not bounce shared counters between cores.
type clock struct {
	step time.Duration // virtual time per operation
	now  atomic.Int64
	seq  atomic.Uint32
}

const clockBlock = 64

// ticker is one goroutine's view of the clock.
type ticker struct {
	c      *clock
	ops    int
	t      ipvs.Time
	i, end uint32
}

// tick returns the time of the goroutine's next operation and a tuple
// number no other operation gets.
func (k *ticker) tick(d *ipvs.Director) (ipvs.Time, uint32) {
	if k.i == k.end {
		k.end = k.c.seq.Add(clockBlock)
		k.i = k.end - clockBlock
		block := int64(clockBlock * k.c.step)
		k.t = ipvs.Time(k.c.now.Add(block) - block)
	}
	k.ops++
	k.t += ipvs.Time(k.c.step)
	if k.ops%1024 == 0 {
		d.Advance(k.t)
	}
	i := k.i
	k.i++
	return k.t, i
}

// tableSizes are the steady-state sizes of the new-connection benchmarks:
// connections live 60 s (SYN_RECV), so 10 ms of virtual time per new
// connection keeps about 6 000 in the table (it stays in the CPU's
// caches) and 1 ms about 60 000 (most lookups and expiries miss them).
var tableSizes = []struct {
	name string
	step time.Duration
}{{"table=6k", 10 * time.Millisecond}, {"table=60k", time.Millisecond}}

// BenchmarkNewConnTemplateHit: a SYN of a new connection whose client
// network (/24) already has a template (ip_vs_sched_persist: template found
// and valid; the scheduler is not called).
func BenchmarkNewConnTemplateHit(b *testing.B) {
	for _, ts := range tableSizes {
		b.Run(ts.name, func(b *testing.B) {
			d, _ := benchDirector(b, persist(3600), netmask("255.255.255.0"))
			vip := netip.MustParseAddr("10.0.0.1")
			const nets = 1024
			for i := uint32(0); i < nets; i++ {
				p := ipvs.Packet{Protocol: ipvs.ProtoTCP, Src: benchClient(i << 8), SrcPort: 1, Dst: vip, DstPort: 80, TCPFlags: ipvs.TCPSyn, Len: 60}
				d.Process(&p, 0)
			}
			hits := d.Counters().TemplateHit.Load()
			c := clock{step: ts.step}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				k := ticker{c: &c}
				p := ipvs.Packet{Protocol: ipvs.ProtoTCP, Dst: vip, DstPort: 80, TCPFlags: ipvs.TCPSyn, Len: 60}
				for pb.Next() {
					now, i := k.tick(d)
					// Network i%1024, host and port from the rest: a new tuple.
					p.Src = benchClient((i%nets)<<8 | (i/nets)&0xff)
					p.SrcPort = uint16(1024 + i/nets/256)
					if res := d.Process(&p, now); !res.New {
						b.Fatalf("not a new connection: %v/%v", res.Verdict, res.Reason)
					}
				}
			})
			b.StopTimer()
			if d.Counters().TemplateHit.Load()-hits < uint64(b.N)*9/10 {
				b.Fatalf("template hits %d of %d", d.Counters().TemplateHit.Load()-hits, b.N)
			}
		})
	}
}

// BenchmarkNewConnTemplateMiss: a SYN of a client seen for the first time
// (ip_vs_sched_persist: no template; the scheduler picks; a template and
// a connection are created).
func BenchmarkNewConnTemplateMiss(b *testing.B) {
	for _, ts := range tableSizes {
		b.Run(ts.name, func(b *testing.B) {
			d, _ := benchDirector(b, persist(10))
			vip := netip.MustParseAddr("10.0.0.1")
			misses := d.Counters().TemplateMiss.Load()
			c := clock{step: ts.step}
			c.seq.Store(1)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				k := ticker{c: &c}
				p := ipvs.Packet{Protocol: ipvs.ProtoTCP, SrcPort: 40000, Dst: vip, DstPort: 80, TCPFlags: ipvs.TCPSyn, Len: 60}
				for pb.Next() {
					now, i := k.tick(d)
					p.Src = benchClient(i)
					if res := d.Process(&p, now); !res.New {
						b.Fatalf("not a new connection: %v/%v", res.Verdict, res.Reason)
					}
				}
			})
			b.StopTimer()
			if d.Counters().TemplateMiss.Load()-misses != uint64(b.N) {
				b.Fatalf("template misses %d of %d", d.Counters().TemplateMiss.Load()-misses, b.N)
			}
		})
	}
}

// BenchmarkTableMemory measures the heap used by the connection table at
// 1 000 000 entries: "plain" holds 1 M connections of a non-persistent
// service, "persistent" 500 000 connections each with its own template
// (1 M entries). Reported as B/conn (bytes per table entry). Run with
// -benchtime=1x: one iteration builds the whole table.
func BenchmarkTableMemory(b *testing.B) {
	for _, tc := range []struct {
		name    string
		opts    []svcOpt
		packets int
	}{{"plain", nil, 1_000_000}, {"persistent", []svcOpt{persist(3600)}, 500_000}} {
		b.Run(tc.name, func(b *testing.B) {
			var perEntry float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				d, _ := benchDirector(b, tc.opts...)
				vip := netip.MustParseAddr("10.0.0.1")
				p := ipvs.Packet{Protocol: ipvs.ProtoTCP, SrcPort: 40000, Dst: vip, DstPort: 80, TCPFlags: ipvs.TCPSyn, Len: 60}
				for i := 0; i < tc.packets; i++ {
					p.Src = benchClient(uint32(i))
					d.Process(&p, 0)
				}
				n := d.ConnCount()
				if n != 1_000_000 {
					b.Fatalf("%d entries, want 1000000", n)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perEntry = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
				runtime.KeepAlive(d)
			}
			b.ReportMetric(perEntry, "B/conn")
		})
	}
}
