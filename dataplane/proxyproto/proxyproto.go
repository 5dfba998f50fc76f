// Package proxyproto writes and reads the PROXY protocol header (versions 1
// and 2, as specified by HAProxy's proxy-protocol.txt) that a full-NAT
// director sends first on a connection to a real server so that the server
// learns the client's address.
package proxyproto

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
)

// Protocol is the transport protocol announced by a header.
type Protocol uint8

// Transport protocols (the low nibble of the version 2 family byte).
const (
	Unspec Protocol = 0
	TCP    Protocol = 1
	UDP    Protocol = 2
)

// Header is a decoded PROXY protocol header.
type Header struct {
	// Version is 1 or 2.
	Version int
	// Local is set for a version 2 LOCAL command or a version 1 UNKNOWN
	// line: the connection carries no client address.
	Local bool
	// Protocol is TCP or UDP (version 1 announces TCP only), Unspec when
	// the addresses are unknown.
	Protocol Protocol
	// Src is the client, Dst the address the client connected to.
	Src, Dst netip.AddrPort
	// TLVs holds the raw type-length-value extensions of a version 2
	// header (not interpreted).
	TLVs []byte
}

// Signature is the 12-byte prefix of a version 2 header.
var Signature = [12]byte{'\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q', 'U', 'I', 'T', '\n'}

// Errors.
var (
	// ErrIncomplete: more bytes are needed to decode the header.
	ErrIncomplete = errors.New("proxyproto: incomplete header")
	// ErrInvalid: the bytes are not a valid PROXY protocol header.
	ErrInvalid = errors.New("proxyproto: invalid header")
)

// MaxV1Len is the longest version 1 header, CRLF included.
const MaxV1Len = 107

// v2 family/protocol bytes
const (
	famInet  = 0x10
	famInet6 = 0x20
)

// sameFamily returns src and dst in one family: IPv4 when both are IPv4
// (or IPv4-mapped), IPv6 otherwise (IPv4 addresses mapped), and whether
// that family is IPv4.
func sameFamily(src, dst netip.AddrPort) (netip.AddrPort, netip.AddrPort, bool) {
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	if s.Is4() && d.Is4() {
		return netip.AddrPortFrom(s, src.Port()), netip.AddrPortFrom(d, dst.Port()), true
	}
	if s.Is4() {
		s = netip.AddrFrom16(s.As16())
	}
	if d.Is4() {
		d = netip.AddrFrom16(d.As16())
	}
	return netip.AddrPortFrom(s, src.Port()), netip.AddrPortFrom(d, dst.Port()), false
}

// AppendV1 appends a version 1 header for a TCP connection from src to
// dst. Invalid addresses give "PROXY UNKNOWN".
func AppendV1(b []byte, src, dst netip.AddrPort) []byte {
	if !src.Addr().IsValid() || !dst.Addr().IsValid() {
		return append(b, "PROXY UNKNOWN\r\n"...)
	}
	src, dst, v4 := sameFamily(src, dst)
	if v4 {
		b = append(b, "PROXY TCP4 "...)
	} else {
		b = append(b, "PROXY TCP6 "...)
	}
	b = src.Addr().AppendTo(b)
	b = append(b, ' ')
	b = dst.Addr().AppendTo(b)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(src.Port()), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(dst.Port()), 10)
	return append(b, '\r', '\n')
}

// AppendV2 appends a version 2 PROXY header for a connection of protocol
// proto from src to dst. Invalid addresses or proto Unspec give a LOCAL
// header.
func AppendV2(b []byte, proto Protocol, src, dst netip.AddrPort) []byte {
	b = append(b, Signature[:]...)
	if proto == Unspec || !src.Addr().IsValid() || !dst.Addr().IsValid() {
		return append(b, 0x20, 0, 0, 0)
	}
	src, dst, v4 := sameFamily(src, dst)
	if v4 {
		b = append(b, 0x21, famInet|byte(proto), 0, 12)
		s, d := src.Addr().As4(), dst.Addr().As4()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	} else {
		b = append(b, 0x21, famInet6|byte(proto), 0, 36)
		s, d := src.Addr().As16(), dst.Addr().As16()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}

// Append appends h in its version (2 unless Version is 1).
func (h Header) Append(b []byte) []byte {
	if h.Version == 1 {
		if h.Local {
			return append(b, "PROXY UNKNOWN\r\n"...)
		}
		return AppendV1(b, h.Src, h.Dst)
	}
	if h.Local {
		b = append(b, Signature[:]...)
		b = append(b, 0x20, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(len(h.TLVs)))
		return append(b, h.TLVs...)
	}
	if h.Protocol == Unspec || !h.Src.Addr().IsValid() || !h.Dst.Addr().IsValid() {
		// PROXY command with an AF_UNSPEC address block.
		b = append(b, Signature[:]...)
		b = append(b, 0x21, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(len(h.TLVs)))
		return append(b, h.TLVs...)
	}
	start := len(b)
	b = AppendV2(b, h.Protocol, h.Src, h.Dst)
	if len(h.TLVs) > 0 && len(b)-start > 16 {
		n := binary.BigEndian.Uint16(b[start+14:]) + uint16(len(h.TLVs))
		binary.BigEndian.PutUint16(b[start+14:], n)
		b = append(b, h.TLVs...)
	}
	return b
}

// Parse decodes a header at the start of b and returns it with its length
// in bytes. It returns ErrIncomplete when b is a valid but truncated
// prefix, and an error wrapping ErrInvalid when b starts with anything else.
func Parse(b []byte) (Header, int, error) {
	if len(b) == 0 {
		return Header{}, 0, ErrIncomplete
	}
	if b[0] == Signature[0] {
		return parseV2(b)
	}
	if b[0] == 'P' {
		return parseV1(b)
	}
	return Header{}, 0, fmt.Errorf("%w: no PROXY signature", ErrInvalid)
}

func parseV2(b []byte) (Header, int, error) {
	n := min(len(b), len(Signature))
	if !bytes.Equal(b[:n], Signature[:n]) {
		return Header{}, 0, fmt.Errorf("%w: bad version 2 signature", ErrInvalid)
	}
	if len(b) < 16 {
		return Header{}, 0, ErrIncomplete
	}
	verCmd, fam := b[12], b[13]
	if verCmd>>4 != 2 {
		return Header{}, 0, fmt.Errorf("%w: version %d", ErrInvalid, verCmd>>4)
	}
	total := 16 + int(binary.BigEndian.Uint16(b[14:16]))
	if len(b) < total {
		return Header{}, 0, ErrIncomplete
	}
	body := b[16:total]
	h := Header{Version: 2}
	switch verCmd & 0xf {
	case 0:
		h.Local = true
		if len(body) > 0 {
			h.TLVs = append([]byte(nil), body...)
		}
		return h, total, nil
	case 1:
	default:
		return Header{}, 0, fmt.Errorf("%w: command %d", ErrInvalid, verCmd&0xf)
	}
	proto := Protocol(fam & 0xf)
	var alen int
	switch fam >> 4 {
	case 0:
		// AF_UNSPEC: the receiver must ignore the address block.
		h.Protocol = Unspec
		if len(body) > 0 {
			h.TLVs = append([]byte(nil), body...)
		}
		return h, total, nil
	case 1:
		alen = 12
	case 2:
		alen = 36
	default:
		return Header{}, 0, fmt.Errorf("%w: address family %d", ErrInvalid, fam>>4)
	}
	if proto != TCP && proto != UDP {
		return Header{}, 0, fmt.Errorf("%w: transport protocol %d", ErrInvalid, proto)
	}
	if len(body) < alen {
		return Header{}, 0, fmt.Errorf("%w: address block of %d bytes is short", ErrInvalid, len(body))
	}
	h.Protocol = proto
	var src, dst netip.Addr
	if alen == 12 {
		src = netip.AddrFrom4([4]byte(body[0:4]))
		dst = netip.AddrFrom4([4]byte(body[4:8]))
	} else {
		src = netip.AddrFrom16([16]byte(body[0:16]))
		dst = netip.AddrFrom16([16]byte(body[16:32]))
	}
	h.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(body[alen-4:]))
	h.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(body[alen-2:]))
	if len(body) > alen {
		h.TLVs = append([]byte(nil), body[alen:]...)
	}
	return h, total, nil
}

func parseV1(b []byte) (Header, int, error) {
	const prefix = "PROXY "
	n := min(len(b), len(prefix))
	if string(b[:n]) != prefix[:n] {
		return Header{}, 0, fmt.Errorf("%w: bad version 1 prefix", ErrInvalid)
	}
	end := bytes.IndexByte(b, '\n')
	if end < 0 {
		if len(b) >= MaxV1Len {
			return Header{}, 0, fmt.Errorf("%w: version 1 line too long", ErrInvalid)
		}
		return Header{}, 0, ErrIncomplete
	}
	if end+1 > MaxV1Len || end == 0 || b[end-1] != '\r' {
		return Header{}, 0, fmt.Errorf("%w: version 1 line not ended by CRLF", ErrInvalid)
	}
	f := bytes.Split(b[len(prefix):end-1], []byte{' '})
	h := Header{Version: 1}
	if len(f) >= 1 && string(f[0]) == "UNKNOWN" {
		h.Local = true
		return h, end + 1, nil
	}
	if len(f) != 5 {
		return Header{}, 0, fmt.Errorf("%w: version 1 line has %d fields", ErrInvalid, len(f))
	}
	var want4 bool
	switch string(f[0]) {
	case "TCP4":
		want4 = true
	case "TCP6":
	default:
		return Header{}, 0, fmt.Errorf("%w: version 1 protocol %q", ErrInvalid, f[0])
	}
	src, err1 := netip.ParseAddr(string(f[1]))
	dst, err2 := netip.ParseAddr(string(f[2]))
	sp, err3 := parsePort(f[3])
	dp, err4 := parsePort(f[4])
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return Header{}, 0, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if src.Is4() != want4 || dst.Is4() != want4 || src.Zone() != "" || dst.Zone() != "" {
		return Header{}, 0, fmt.Errorf("%w: version 1 addresses do not match %s", ErrInvalid, f[0])
	}
	h.Protocol = TCP
	h.Src = netip.AddrPortFrom(src, sp)
	h.Dst = netip.AddrPortFrom(dst, dp)
	return h, end + 1, nil
}

func parsePort(b []byte) (uint16, error) {
	// The specification forbids leading zeros, signs and spaces.
	if len(b) == 0 || len(b) > 5 || (b[0] == '0' && len(b) > 1) {
		return 0, fmt.Errorf("bad port %q", b)
	}
	v, err := strconv.ParseUint(string(b), 10, 16)
	if err != nil {
		return 0, fmt.Errorf("bad port %q", b)
	}
	return uint16(v), nil
}

// Read reads one header from r. It consumes exactly the header's bytes.
func Read(r *bufio.Reader) (Header, error) {
	first, err := r.Peek(1)
	if err != nil {
		return Header{}, err
	}
	want := 16
	if first[0] == 'P' {
		want = 8
	}
	for {
		b, perr := r.Peek(want)
		h, n, err := Parse(b)
		if err == nil {
			_, err = r.Discard(n)
			return h, err
		}
		if !errors.Is(err, ErrIncomplete) {
			return Header{}, err
		}
		if perr != nil {
			if perr == io.EOF {
				perr = io.ErrUnexpectedEOF
			}
			return Header{}, perr
		}
		if len(b) >= 16 && b[0] == Signature[0] {
			want = 16 + int(binary.BigEndian.Uint16(b[14:16]))
			if want > r.Size() {
				return Header{}, fmt.Errorf("%w: version 2 header of %d bytes exceeds the reader's buffer", ErrInvalid, want)
			}
		} else {
			want++
		}
	}
}
