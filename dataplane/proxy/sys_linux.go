//go:build linux

package proxy

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Socket calls on raw sockaddrs: x/sys/unix's wrappers return and take
// Sockaddr interfaces, an allocation per call on the per-connection path.

func rawAccept4(fd int, rsa *unix.RawSockaddrAny) (int, error) {
	n := uint32(unix.SizeofSockaddrAny)
	r, _, e := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(rsa)), uintptr(unsafe.Pointer(&n)),
		unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func rawGetsockname(fd int, rsa *unix.RawSockaddrAny) (netip.AddrPort, error) {
	n := uint32(unix.SizeofSockaddrAny)
	_, _, e := unix.RawSyscall(unix.SYS_GETSOCKNAME, uintptr(fd), uintptr(unsafe.Pointer(rsa)), uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return netip.AddrPort{}, e
	}
	return sockaddrAddrPort(rsa), nil
}

func rawBind(fd int, sa unsafe.Pointer, n uint32) error {
	_, _, e := unix.RawSyscall(unix.SYS_BIND, uintptr(fd), uintptr(sa), uintptr(n))
	if e != 0 {
		return e
	}
	return nil
}

func rawConnect(fd int, sa unsafe.Pointer, n uint32) error {
	_, _, e := unix.Syscall(unix.SYS_CONNECT, uintptr(fd), uintptr(sa), uintptr(n))
	if e != 0 {
		return e
	}
	return nil
}

// sockaddrAddrPort reads an IPv4 or IPv6 socket address (IPv4-mapped
// addresses unmapped; the zone is not kept).
func sockaddrAddrPort(rsa *unix.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}

// putSockaddr writes ap into rsa as a socket address of its family and
// returns it with its length.
func putSockaddr(rsa *unix.RawSockaddrAny, ap netip.AddrPort, zone uint32) (unsafe.Pointer, uint32) {
	a := ap.Addr()
	if a.Is4() {
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		*sa = unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: a.As4()}
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		p[0], p[1] = byte(ap.Port()>>8), byte(ap.Port())
		return unsafe.Pointer(sa), unix.SizeofSockaddrInet4
	}
	sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
	*sa = unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: a.As16(), Scope_id: zone}
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	p[0], p[1] = byte(ap.Port()>>8), byte(ap.Port())
	return unsafe.Pointer(sa), unix.SizeofSockaddrInet6
}

func rawSend(fd int, b []byte, flags int) (int, error) {
	r, _, e := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)),
		uintptr(flags), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
