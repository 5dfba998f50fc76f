package proxyproto

import (
	"bufio"
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestV1(t *testing.T) {
	src := netip.MustParseAddrPort("192.0.2.1:56324")
	dst := netip.MustParseAddrPort("198.51.100.1:443")
	b := AppendV1(nil, src, dst)
	if got, want := string(b), "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n"; got != want {
		t.Fatalf("AppendV1 = %q, want %q", got, want)
	}
	h, n, err := Parse(append(b, "GET /"...))
	if err != nil || n != len(b) {
		t.Fatalf("Parse: %v, n=%d", err, n)
	}
	if h.Version != 1 || h.Protocol != TCP || h.Src != src || h.Dst != dst {
		t.Fatalf("Parse = %+v", h)
	}
	b6 := AppendV1(nil, netip.MustParseAddrPort("[2001:db8::1]:1"), dst)
	if got, want := string(b6), "PROXY TCP6 2001:db8::1 ::ffff:198.51.100.1 1 443\r\n"; got != want {
		t.Fatalf("AppendV1 mixed = %q, want %q", got, want)
	}
	if got := string(AppendV1(nil, netip.AddrPort{}, dst)); got != "PROXY UNKNOWN\r\n" {
		t.Fatalf("unknown = %q", got)
	}
}

func TestV2(t *testing.T) {
	for _, tc := range []struct {
		src, dst string
		proto    Protocol
		size     int
	}{
		{"192.0.2.1:1000", "198.51.100.1:80", TCP, 28},
		{"[2001:db8::1]:1000", "[2001:db8::2]:80", UDP, 52},
	} {
		src, dst := netip.MustParseAddrPort(tc.src), netip.MustParseAddrPort(tc.dst)
		b := AppendV2(nil, tc.proto, src, dst)
		if len(b) != tc.size {
			t.Fatalf("%s: %d bytes, want %d", tc.src, len(b), tc.size)
		}
		h, n, err := Parse(append(b, 1, 2, 3))
		if err != nil || n != len(b) {
			t.Fatalf("Parse: %v n=%d", err, n)
		}
		if h.Version != 2 || h.Local || h.Protocol != tc.proto || h.Src != src || h.Dst != dst {
			t.Fatalf("Parse = %+v", h)
		}
		for i := range b {
			if _, _, err := Parse(b[:i]); !errors.Is(err, ErrIncomplete) {
				t.Fatalf("Parse of %d-byte prefix: %v, want ErrIncomplete", i, err)
			}
		}
	}
	local := AppendV2(nil, Unspec, netip.AddrPort{}, netip.AddrPort{})
	h, _, err := Parse(local)
	if err != nil || !h.Local {
		t.Fatalf("LOCAL: %+v %v", h, err)
	}
}

func TestRead(t *testing.T) {
	src := netip.MustParseAddrPort("192.0.2.1:5")
	dst := netip.MustParseAddrPort("192.0.2.2:6")
	for _, hdr := range [][]byte{AppendV1(nil, src, dst), AppendV2(nil, TCP, src, dst)} {
		r := bufio.NewReader(bytes.NewReader(append(append([]byte{}, hdr...), "payload"...)))
		h, err := Read(r)
		if err != nil || h.Src != src || h.Dst != dst {
			t.Fatalf("Read: %+v %v", h, err)
		}
		rest, _ := r.ReadString(0)
		if rest != "payload" {
			t.Fatalf("rest %q", rest)
		}
	}
	if _, err := Read(bufio.NewReader(strings.NewReader("GET / HTTP/1.0\r\n"))); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Read of HTTP: %v", err)
	}
	if _, err := Read(bufio.NewReader(strings.NewReader("PROXY TCP4 1.2.3.4"))); err == nil {
		t.Fatal("Read of a truncated header succeeded")
	}
}

func TestParseRejects(t *testing.T) {
	for _, s := range []string{
		"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
		"PROXY TCP4 ::1 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
		"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
		"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
		"PROXY " + strings.Repeat("x", 120),
		"XYZ",
	} {
		if _, _, err := Parse([]byte(s)); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) = %v, want ErrInvalid", s, err)
		}
	}
}

// FuzzParse checks that Parse never panics, never claims more bytes than
// it was given, and that what it accepts encodes back to a header that
// decodes to the same value.
func FuzzParse(f *testing.F) {
	src := netip.MustParseAddrPort("192.0.2.1:56324")
	dst := netip.MustParseAddrPort("198.51.100.1:443")
	f.Add(AppendV1(nil, src, dst))
	f.Add(AppendV2(nil, TCP, src, dst))
	f.Add(AppendV2(nil, UDP, netip.MustParseAddrPort("[2001:db8::1]:1"), dst))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(append(AppendV2(nil, TCP, src, dst), 1, 0, 1, 'x'))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with n=%d", err, n)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("n=%d for %d bytes", n, len(b))
		}
		enc := h.Append(nil)
		h2, n2, err := Parse(enc)
		if err != nil || n2 != len(enc) {
			t.Fatalf("re-parse of %q: %v n=%d", enc, err, n2)
		}
		if h.Version != h2.Version || h.Local != h2.Local || h.Protocol != h2.Protocol ||
			h.Src != h2.Src || h.Dst != h2.Dst || !bytes.Equal(h.TLVs, h2.TLVs) {
			t.Fatalf("round trip: %+v != %+v", h, h2)
		}
	})
}

// FuzzAppend checks that every encoded header decodes to its addresses.
func FuzzAppend(f *testing.F) {
	f.Add([]byte{192, 0, 2, 1}, []byte{198, 51, 100, 1}, uint16(1), uint16(2), true, false)
	f.Add(bytes.Repeat([]byte{0x20}, 16), bytes.Repeat([]byte{1}, 16), uint16(0), uint16(65535), false, true)
	f.Fuzz(func(t *testing.T, s, d []byte, sp, dp uint16, v1, udp bool) {
		sa, ok1 := netip.AddrFromSlice(s)
		da, ok2 := netip.AddrFromSlice(d)
		if !ok1 || !ok2 {
			return
		}
		src, dst := netip.AddrPortFrom(sa, sp), netip.AddrPortFrom(da, dp)
		var b []byte
		proto := TCP
		if v1 {
			b = AppendV1(nil, src, dst)
		} else {
			if udp {
				proto = UDP
			}
			b = AppendV2(nil, proto, src, dst)
		}
		h, n, err := Parse(b)
		if err != nil || n != len(b) {
			t.Fatalf("Parse(%q): %v n=%d", b, err, n)
		}
		ws, wd, _ := sameFamily(src, dst)
		if h.Src != ws || h.Dst != wd || h.Protocol != proto {
			t.Fatalf("decoded %+v, want %v %v %v", h, ws, wd, proto)
		}
	})
}
