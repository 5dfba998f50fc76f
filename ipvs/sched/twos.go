package sched

import "github.com/golvs/golvs/ipvs"

// twos is the power-of-two-choices scheduler (ip_vs_twos.c). It keeps no
// state but its random source.
//
// The reference kernel does not build it (CONFIG_IP_VS_TWOS is not set), so
// nothing here was checked against a running kernel; it is derived from the
// source line by line:
//   - total_weight and the random weights are the kernel's int, and the final
//     comparison weight2*overhead1 > weight1*overhead2 is an int product (not
//     64-bit as in wlc); the kernel is built with -fno-strict-overflow, so
//     these wrap, and here they are int32 with Go's wrapping arithmetic.
//   - prandom_u32_max(n) in Linux 6.1 (include/linux/prandom.h) for a value
//     not known at compile time is ((u64)get_random_u32() * n) >> 32;
//     get_random_u32 is the injected rand (see [WithRand]), called first for
//     rweight1, then for rweight2.
type twos struct {
	rand func() uint32
}

func (*twos) Name() string { return "twos" }

// randBelow is prandom_u32_max(n).
func (x *twos) randBelow(n uint32) uint32 {
	return uint32((uint64(x.rand()) * uint64(n)) >> 32)
}

// Schedule is ip_vs_twos.c: ip_vs_twos_schedule: draw two weighted random
// dests among those not OVERLOADED with weight > 0 (r uniform in
// [0, total weight]; the first dest at which r minus the running weight sum
// is <= 0), and return the second if its overhead/weight is strictly lower.
func (x *twos) Schedule(s *ipvs.Service, _ *ipvs.Packet, _ ipvs.Time) *ipvs.Dest {
	ds := s.Dests()
	var choice1, choice2 *ipvs.Dest
	var total int32
	for _, d := range ds {
		if !d.Overloaded() {
			if w := d.Weight(); w > 0 {
				total += w
				choice1 = d
			}
		}
	}
	if choice1 == nil {
		return nil
	}
	// Add 1 so that the random weights are inclusive from 0 to total.
	total++
	r1 := int32(x.randBelow(uint32(total)))
	r2 := int32(x.randBelow(uint32(total)))
	weight1, weight2 := int32(-1), int32(-1)
	var overhead1, overhead2 int32
	for _, d := range ds {
		if d.Overloaded() {
			continue
		}
		w := d.Weight()
		if w <= 0 {
			continue
		}
		r1 -= w
		r2 -= w
		if r1 <= 0 && weight1 == -1 {
			choice1, weight1, overhead1 = d, w, overhead(d)
		}
		if r2 <= 0 && weight2 == -1 {
			choice2, weight2, overhead2 = d, w, overhead(d)
		}
		if weight1 != -1 && weight2 != -1 {
			break
		}
	}
	if choice2 != nil && weight2*overhead1 > weight1*overhead2 {
		choice1 = choice2
	}
	return choice1
}
