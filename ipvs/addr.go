package ipvs

import (
	"encoding/binary"
	"net/netip"
)

// Family is an address family, with the kernel's values (AF_INET, AF_INET6).
type Family uint8

// Address families.
const (
	AFInet  Family = 2
	AFInet6 Family = 10
)

// String returns "inet" or "inet6".
func (f Family) String() string {
	if f == AFInet6 {
		return "inet6"
	}
	return "inet"
}

// FamilyOf returns the family of a.
func FamilyOf(a netip.Addr) Family {
	// An IPv4-mapped IPv6 address stays IPv6, as in the kernel.
	if a.Is4() {
		return AFInet
	}
	return AFInet6
}

// Protocol numbers as in the IP header.
const (
	ProtoIP   uint8 = 0 // IPPROTO_IP: the protocol of fwmark templates
	ProtoTCP  uint8 = 6
	ProtoUDP  uint8 = 17
	ProtoSCTP uint8 = 132
)

// ProtoName returns the kernel's listing name of a protocol
// (ip_vs_proto_name): "TCP", "UDP", "SCTP", "IP" for fwmark templates.
func ProtoName(p uint8) string {
	switch p {
	case ProtoTCP:
		return "TCP"
	case ProtoUDP:
		return "UDP"
	case ProtoSCTP:
		return "SCTP"
	case ProtoIP:
		return "IP"
	}
	return "?"
}

// addr16 is an address packed for use in keys: IPv4 in the first 4 bytes,
// the rest zero (as the kernel's union nf_inet_addr).
type addr16 [16]byte

func pack(a netip.Addr) addr16 {
	if a.Is4() {
		// Element by element: copying into a zeroed array and returning it
		// stalls on store forwarding, on every packet.
		b := a.As4()
		return addr16{b[0], b[1], b[2], b[3]}
	}
	return addr16(a.As16())
}

func (p addr16) unpack(af Family) netip.Addr {
	if af == AFInet {
		return netip.AddrFrom4([4]byte{p[0], p[1], p[2], p[3]})
	}
	return netip.AddrFrom16(p)
}

// fold returns the address as the kernel's hash functions see it: IPv4 in
// host order; IPv6 as the XOR of its four 32-bit words (ip_vs_sh.c:
// ip_vs_sh_hashkey, ip_vs_mh.c: ip_vs_mh_hashkey).
func (p addr16) fold(af Family) uint32 {
	if af == AFInet {
		return binary.BigEndian.Uint32(p[:4])
	}
	// The kernel XORs the words in network order and converts the result
	// with ntohl, which equals XOR of the host-order words.
	return binary.BigEndian.Uint32(p[0:4]) ^ binary.BigEndian.Uint32(p[4:8]) ^
		binary.BigEndian.Uint32(p[8:12]) ^ binary.BigEndian.Uint32(p[12:16])
}

// AddrHash folds a to the 32-bit host-order value the kernel's hashing
// schedulers (dh, sh, mh) hash.
func AddrHash(a netip.Addr) uint32 { return pack(a).fold(FamilyOf(a)) }

// maskAddr applies a service's persistence netmask: IPv4 bitwise with the
// 32-bit mask (not required to be contiguous), IPv6 the first plen bits
// (ip_vs_core.c: ip_vs_sched_persist, ipv6_addr_prefix).
func maskAddr(af Family, a addr16, mask uint32) addr16 {
	if af == AFInet {
		v := binary.BigEndian.Uint32(a[:4]) & mask
		var r addr16
		binary.BigEndian.PutUint32(r[:4], v)
		return r
	}
	plen := int(mask)
	if plen > 128 {
		plen = 128
	}
	var r addr16
	full := plen / 8
	copy(r[:full], a[:full])
	if rem := plen % 8; rem != 0 {
		r[full] = a[full] & byte(0xff<<(8-rem))
	}
	return r
}
