package sched

import (
	"encoding/binary"
	"math/bits"

	"github.com/golvs/golvs/ipvs"
)

const (
	// mhTabIndex is CONFIG_IP_VS_MH_TAB_INDEX (Kconfig default and the
	// reference kernel's value).
	mhTabIndex = 12
	// mhTabBits is IP_VS_MH_TAB_BITS, the weight precision.
	mhTabBits = mhTabIndex / 2
	// mhTabSize is IP_VS_MH_TAB_SIZE = primes[mhTabIndex-8] of
	// 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071.
	mhTabSize = 4093

	// mhKey1 and mhKey2 are ip_vs_mh.c: generate_hash_secret: both words
	// of hash1 and of hash2.
	mhKey1 = 2654435761
	mhKey2 = 2654446892
)

// mhSetup is struct ip_vs_mh_dest_setup.
type mhSetup struct {
	offset, skip, perm uint32
	turns              int32
}

// mh is the Maglev-hashing scheduler (ip_vs_mh.c); its fields are struct
// ip_vs_mh_state plus reused scratch space for the rebuild. The service
// flags SvcSched1 and SvcSched2 are mh-fallback and mh-port.
type mh struct {
	inited bool
	lookup []*ipvs.Dest // mhTabSize slots
	gcd    int32
	rshift int32
	setup  []mhSetup
	used   []uint64 // the populate bitmap
}

func (x *mh) Name() string { return "mh" }

// sipRound is SIPROUND of lib/siphash.c.
func sipRound(v0, v1, v2, v3 uint64) (uint64, uint64, uint64, uint64) {
	v0 += v1
	v1 = bits.RotateLeft64(v1, 13)
	v1 ^= v0
	v0 = bits.RotateLeft64(v0, 32)
	v2 += v3
	v3 = bits.RotateLeft64(v3, 16)
	v3 ^= v2
	v0 += v3
	v3 = bits.RotateLeft64(v3, 21)
	v3 ^= v0
	v2 += v1
	v1 = bits.RotateLeft64(v1, 17)
	v1 ^= v2
	v2 = bits.RotateLeft64(v2, 32)
	return v0, v1, v2, v3
}

// hsiphash32 is lib/siphash.c: hsiphash of the 4 bytes of v (in memory
// order of a little-endian machine) on a 64-bit kernel, where "HalfSipHash"
// is SipHash-1-3 with the 64-bit key words k0 = k1 = k, truncated to 32 bits.
func hsiphash32(v uint32, k uint64) uint32 {
	v0 := 0x736f6d6570736575 ^ k
	v1 := 0x646f72616e646f6d ^ k
	v2 := 0x6c7967656e657261 ^ k
	v3 := 0x7465646279746573 ^ k
	b := uint64(4)<<56 | uint64(v) // length in the top byte, le32 tail
	v3 ^= b
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= b
	v2 ^= 0xff
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	return uint32((v0 ^ v1) ^ (v2 ^ v3))
}

// mhHashKey is ip_vs_mh.c: ip_vs_mh_hashkey: hsiphash of
// offset + port + folded address (host order, 32-bit wrap).
func mhHashKey(addr uint32, port uint16, key uint64, offset uint32) uint32 {
	return hsiphash32(offset+uint32(port)+addr, key)
}

// mhDestFold folds a dest's address as ip_vs_mh_hashkey does, by the
// service's family: an IPv6 dest of an IPv4 service (tunnel only) is read
// as its first 32-bit word.
func mhDestFold(s *ipvs.Service, d *ipvs.Dest) uint32 {
	if s.Family() == ipvs.AFInet && d.Family() == ipvs.AFInet6 {
		a := d.Addr().As16()
		return binary.BigEndian.Uint32(a[:4])
	}
	return d.AddrHash()
}

// mhGCDWeight is ip_vs_mh.c: ip_vs_mh_gcd_weight, over last_weight (0 when
// no last_weight is positive).
func mhGCDWeight(ds []*ipvs.Dest) int32 {
	var g int32
	for _, d := range ds {
		if w := d.LastWeight(); w > 0 {
			if g > 0 {
				g = gcd(w, g)
			} else {
				g = w
			}
		}
	}
	return g
}

// mhShiftWeight is ip_vs_mh.c: ip_vs_mh_shift_weight: the bits of
// max(last_weight)/gcd beyond IP_VS_MH_TAB_BITS.
func mhShiftWeight(ds []*ipvs.Dest, g int32) int32 {
	if g < 1 {
		return 0
	}
	var w int32
	for _, d := range ds {
		w = max(w, d.LastWeight())
	}
	shift := int32(bits.Len32(uint32(w/g))) - mhTabBits
	return max(shift, 0)
}

// changed is ip_vs_mh.c: ip_vs_mh_dest_changed (and, on a fresh state,
// ip_vs_mh_init_svc): recompute gcd and shift, then ip_vs_mh_reassign.
func (x *mh) changed(s *ipvs.Service) {
	x.inited = true
	if x.lookup == nil {
		x.lookup = make([]*ipvs.Dest, mhTabSize)
	}
	ds := s.Dests()
	x.gcd = mhGCDWeight(ds)
	x.rshift = mhShiftWeight(ds, x.gcd)
	x.reassign(s)
}

// reassign is ip_vs_mh.c: ip_vs_mh_reassign: refused (table unchanged) with
// more dests than slots; else ip_vs_mh_permutate and ip_vs_mh_populate.
func (x *mh) reassign(s *ipvs.Service) {
	ds := s.Dests()
	if len(ds) > mhTabSize {
		return // -EINVAL
	}
	if x.gcd < 1 {
		// No positive last_weight: ip_vs_mh_reset, every lookup fails.
		clear(x.lookup)
		return
	}
	// ip_vs_mh_permutate.
	x.setup = x.setup[:0]
	for _, d := range ds {
		a := mhDestFold(s, d)
		var st mhSetup
		st.offset = mhHashKey(a, d.Port(), mhKey1, 0) % mhTabSize
		st.skip = mhHashKey(a, d.Port(), mhKey2, 0)%(mhTabSize-1) + 1
		st.perm = st.offset
		lw := d.LastWeight()
		st.turns = (lw / x.gcd) >> x.rshift
		if st.turns == 0 && lw != 0 {
			st.turns = 1
		}
		x.setup = append(x.setup, st)
	}
	// ip_vs_mh_populate: passes over the list; each dest with turns >= 1
	// claims, turns times in a row, the next free slot of its
	// permutation, until every slot is claimed.
	if x.used == nil {
		x.used = make([]uint64, (mhTabSize+63)/64)
	}
	clear(x.used)
	n, dtCount := 0, int32(0)
	for n < mhTabSize {
		for i := 0; i < len(ds); {
			st := &x.setup[i]
			if st.turns < 1 {
				i++ // a dest added with weight 0 gets no slot
				continue
			}
			c := st.perm
			for x.used[c/64]&(1<<(c%64)) != 0 {
				st.perm += st.skip
				if st.perm >= mhTabSize {
					st.perm -= mhTabSize
				}
				c = st.perm
			}
			x.used[c/64] |= 1 << (c % 64)
			x.lookup[c] = ds[i]
			if n++; n == mhTabSize {
				return
			}
			if dtCount++; dtCount >= st.turns {
				dtCount = 0
				i++
			}
		}
	}
}

// InitService is ip_vs_mh.c: ip_vs_mh_init_svc.
func (x *mh) InitService(s *ipvs.Service) { x.changed(s) }

// AddDest is ip_vs_mh.c: ip_vs_mh_dest_changed.
func (x *mh) AddDest(s *ipvs.Service, _ *ipvs.Dest) { x.changed(s) }

// DelDest is ip_vs_mh.c: ip_vs_mh_dest_changed.
func (x *mh) DelDest(s *ipvs.Service, _, _ *ipvs.Dest) { x.changed(s) }

// UpdDest is ip_vs_mh.c: ip_vs_mh_dest_changed. The table is built from
// last_weight, so setting a weight to 0 keeps the dest's slots.
func (x *mh) UpdDest(s *ipvs.Service, _ *ipvs.Dest) { x.changed(s) }

// mhUnavailable is ip_vs_mh.c: is_unavailable.
func mhUnavailable(d *ipvs.Dest) bool {
	return d.Weight() <= 0 || d.Overloaded()
}

// Schedule is ip_vs_mh.c: ip_vs_mh_schedule with ip_vs_mh_get or, under
// mh-fallback, ip_vs_mh_get_fallback. The key is the client address (and
// its source port under mh-port).
func (x *mh) Schedule(s *ipvs.Service, p *ipvs.Packet, _ ipvs.Time) *ipvs.Dest {
	if !x.inited {
		x.changed(s)
	}
	addr := ipvs.AddrHash(p.Src)
	var port uint16
	if s.Flags()&ipvs.SvcSched2 != 0 {
		port = hashPort(p)
	}
	ihash := mhHashKey(addr, port, mhKey1, 0) % mhTabSize
	d := x.lookup[ihash]
	if s.Flags()&ipvs.SvcSched1 == 0 {
		if d == nil || mhUnavailable(d) {
			return nil
		}
		return d
	}
	if d == nil {
		return nil
	}
	if !mhUnavailable(d) {
		return d
	}
	// Around the table from ihash; the offset goes inside the hashed value.
	for offset := uint32(0); offset < mhTabSize; offset++ {
		roffset := (offset + ihash) % mhTabSize
		d = x.lookup[mhHashKey(addr, port, mhKey1, roffset)%mhTabSize]
		if d == nil {
			break
		}
		if !mhUnavailable(d) {
			return d
		}
	}
	return nil
}

// Preview is Schedule, which changes nothing but builds the table on first
// use (what init_service would have built).
func (x *mh) Preview(s *ipvs.Service, p *ipvs.Packet, now ipvs.Time) *ipvs.Dest {
	return x.Schedule(s, p, now)
}
