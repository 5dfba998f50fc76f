package sched

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/golvs/golvs/ipvs"
)

func TestNewAndNames(t *testing.T) {
	want := []string{"dh", "fo", "lblc", "lblcr", "lc", "mh", "nq", "ovf", "rr", "sed", "sh", "twos", "wlc", "wrr"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, n := range want {
		a, err := New(n)
		if err != nil {
			t.Fatalf("New(%q): %v", n, err)
		}
		if a.Name() != n {
			t.Errorf("New(%q).Name() = %q", n, a.Name())
		}
		b, _ := New(n)
		// Stateful schedulers are pointers: each service needs its own.
		if _, ok := a.(interface{ InitService(*ipvs.Service) }); ok && any(a) == any(b) {
			t.Errorf("New(%q) returned a shared instance", n)
		}
	}
	var f ipvs.SchedulerFactory = New // New is the core's factory type
	_ = f
}

func TestUnknownScheduler(t *testing.T) {
	for _, n := range []string{"foo", "", "RR", "none"} {
		s, err := New(n)
		if s != nil || err == nil {
			t.Fatalf("New(%q) = %v, %v; want an error", n, s, err)
		}
		if !errors.Is(err, ipvs.ErrSchedulerNotFound) {
			t.Errorf("New(%q) error %v does not wrap ErrSchedulerNotFound", n, err)
		}
		if !strings.Contains(err.Error(), `sched: unknown scheduler "`+n+`"`) {
			t.Errorf("New(%q) error %q does not name the scheduler", n, err)
		}
	}
	if _, err := Factory()("bogus"); !errors.Is(err, ipvs.ErrSchedulerNotFound) {
		t.Errorf("Factory()(bogus) = %v", err)
	}
}

// include/linux/hash.h: hash_32; spec appendix A.2.
func TestHash32Vectors(t *testing.T) {
	x := uint32(0x0A090001)
	if p := x * 0x61C88647; p != 0xe0478647 {
		t.Fatalf("product %#x", p)
	}
	if h := hash32(0x0A090001, 8); h != 224 {
		t.Errorf("10.9.0.1 bucket %d, want 224", h)
	}
	if h := shHashKey(ipvs.AddrHash(addr("10.9.0.2")), 40002, 0); h != 169 {
		t.Errorf("10.9.0.2:40002 bucket %d, want 169", h)
	}
	if h := hash32(ipvs.AddrHash(addr("10.0.0.1")), dhTabBits); h != 39 {
		t.Errorf("dh 10.0.0.1 bucket %d, want 39", h)
	}
}

// sip24 is SipHash-2-4 of the empty message, to check sipRound against the
// reference vector.
func sip24Empty(k0, k1 uint64) uint64 {
	v0 := 0x736f6d6570736575 ^ k0
	v1 := 0x646f72616e646f6d ^ k1
	v2 := 0x6c7967656e657261 ^ k0
	v3 := 0x7465646279746573 ^ k1
	b := uint64(0)
	v3 ^= b
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	v0 ^= b
	v2 ^= 0xff
	for range 4 {
		v0, v1, v2, v3 = sipRound(v0, v1, v2, v3)
	}
	return v0 ^ v1 ^ v2 ^ v3
}

// lib/siphash.c: hsiphash (64-bit: SipHash-1-3); spec appendix A.1.
func TestSipHashVectors(t *testing.T) {
	if h := sip24Empty(0x0706050403020100, 0x0f0e0d0c0b0a0908); h != 0x726fdb47dd0e0e31 {
		t.Fatalf("SipHash-2-4 reference vector %#x", h)
	}
	if h := hsiphash32(0x0A080001, mhKey1); h != 0x8c8d7c91 {
		t.Errorf("H(0x0A080001, K1) = %#x, want 0x8c8d7c91", h)
	}
	// ip_vs_mh.c: ip_vs_mh_permutate: offset and skip of three dests.
	for _, c := range []struct {
		a              string
		h1, off, h2, s uint32
	}{
		{"10.8.0.1", 0xe2c94433, 490, 0x6d260252, 679},
		{"10.8.0.2", 0x2b181863, 3689, 0x55bda8de, 3491},
		{"10.8.0.3", 0x5f4613df, 1116, 0x7a9eb2c3, 540},
	} {
		a := ipvs.AddrHash(addr(c.a))
		h1, h2 := mhHashKey(a, 80, mhKey1, 0), mhHashKey(a, 80, mhKey2, 0)
		if h1 != c.h1 || h1%mhTabSize != c.off || h2 != c.h2 || h2%(mhTabSize-1)+1 != c.s {
			t.Errorf("%s: H1 %#x off %d H2 %#x skip %d; want %#x %d %#x %d", c.a,
				h1, h1%mhTabSize, h2, h2%(mhTabSize-1)+1, c.h1, c.off, c.h2, c.s)
		}
	}
	// Client keys (port 0, K1): ip_vs_mh.c: ip_vs_mh_get.
	for _, c := range []struct {
		a    string
		h, s uint32
	}{{"10.9.0.1", 0xd51b73d7, 124}, {"10.9.0.3", 0x99e40c1f, 3145}, {"10.9.0.8", 0xad043642, 3360}} {
		if h := mhHashKey(ipvs.AddrHash(addr(c.a)), 0, mhKey1, 0); h != c.h || h%mhTabSize != c.s {
			t.Errorf("%s: %#x slot %d, want %#x slot %d", c.a, h, h%mhTabSize, c.h, c.s)
		}
	}
}
