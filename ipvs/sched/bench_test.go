package sched

import (
	"math/rand/v2"
	"testing"

	"github.com/golvs/golvs/ipvs"
)

// benchService builds a service of n dests (weights 1..5, varied
// connection counters) for scheduler name.
func benchService(b *testing.B, name string, n int) *harness {
	h := newHarness(b, name, 0)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range n {
		d := h.add("10.8."+itoa(i/250)+"."+itoa(i%250+1), 80, int32(1+rng.IntN(5)))
		a := int32(rng.IntN(50))
		d.SetTestCounters(a, a+int32(rng.IntN(200)), false)
	}
	return h
}

// BenchmarkSchedule measures one scheduling decision per scheduler with 10
// and 1000 real servers: packets from varied clients to 64 addresses,
// counters unchanged between decisions (lblc/lblcr hit their caches).
func BenchmarkSchedule(b *testing.B) {
	for _, name := range Names() {
		for _, n := range []int{10, 1000} {
			b.Run(name+"/"+itoa(n), func(b *testing.B) {
				h := benchService(b, name, n)
				pk := makePackets(1024)
				for _, p := range pk {
					h.sch.Schedule(h.s, p, 0)
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					h.sch.Schedule(h.s, pk[i&1023], ipvs.Time(i))
					i++
				}
			})
		}
	}
}
