package ipvsadm

import "encoding/binary"

// Sorting as ipvsadm 1.31 does it: glibc's qsort (a top-down merge sort in
// glibc 2.36, msort.c: msort_with_tmp) with libipvs's comparison functions,
// which return the difference of two unsigned 32-bit values as a signed int.
// Values more than 2^31 apart therefore compare "backwards" (200.0.0.1 is
// listed before 10.0.0.1), and as the comparison is not a total order the
// result depends on the algorithm and on the order the kernel returned the
// entries in; msort below reproduces both.

// msort transcribes glibc's msort_with_tmp: split at n/2, sort both halves,
// merge taking from the left while cmp(left, right) <= 0.
func msort[T any](a []T, cmp func(x, y *T) int) {
	if len(a) <= 1 {
		return
	}
	tmp := make([]T, len(a))
	msortRec(a, tmp, cmp)
}

func msortRec[T any](b, tmp []T, cmp func(x, y *T) int) {
	n := len(b)
	if n <= 1 {
		return
	}
	n1 := n / 2
	b1, b2 := b[:n1], b[n1:]
	msortRec(b1, tmp, cmp)
	msortRec(b2, tmp, cmp)
	i, j, k := 0, 0, 0
	for i < len(b1) && j < len(b2) {
		if cmp(&b1[i], &b2[j]) <= 0 {
			tmp[k] = b1[i]
			i++
		} else {
			tmp[k] = b2[j]
			j++
		}
		k++
	}
	for i < len(b1) {
		tmp[k] = b1[i]
		i++
		k++
	}
	// The rest of b2 is already in place.
	copy(b[:k], tmp[:k])
}

// diff32 is the C expression (int)(a - b) for unsigned 32-bit a and b.
func diff32(a, b uint32) int { return int(int32(a - b)) }

func word(a *[16]byte, i int) uint32 { return binary.BigEndian.Uint32(a[4*i:]) }

// cmpServices transcribes libipvs.c: ipvs_cmp_services.
func cmpServices(s1, s2 *svcView) int {
	if r := diff32(s1.fwmark, s2.fwmark); r != 0 {
		return r
	}
	if r := int(s1.af) - int(s2.af); r != 0 {
		return r
	}
	if r := int(s1.protocol) - int(s2.protocol); r != 0 {
		return r
	}
	r := 0
	if s1.af == afInet6 {
		for i := 0; r == 0 && i < 4; i++ {
			r = diff32(word(&s1.addr, i), word(&s2.addr, i))
		}
	} else {
		r = diff32(word(&s1.addr, 0), word(&s2.addr, 0))
	}
	if r != 0 {
		return r
	}
	return int(s1.port) - int(s2.port)
}

// cmpDests transcribes libipvs.c: ipvs_cmp_dests.
func cmpDests(d1, d2 *destView) int {
	r := 0
	if d1.af == afInet6 {
		for i := 0; r == 0 && i < 4; i++ {
			r = diff32(word(&d1.addr, i), word(&d2.addr, i))
		}
	} else {
		r = diff32(word(&d1.addr, 0), word(&d2.addr, 0))
	}
	if r != 0 {
		return r
	}
	return int(d1.port) - int(d2.port)
}
