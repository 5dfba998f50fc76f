//go:build linux

package proxy

import (
	"net/netip"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Socket calls on raw sockaddrs: x/sys/unix's wrappers return and take
// Sockaddr interfaces, an allocation per call on the per-connection path.

func rawAccept4(fd int, rsa *unix.RawSockaddrAny) (int, error) {
	n := uint32(unix.SizeofSockaddrAny)
	r, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(rsa)), uintptr(unsafe.Pointer(&n)),
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
	_, _, e := unix.RawSyscall(unix.SYS_CONNECT, uintptr(fd), uintptr(sa), uintptr(n))
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
	r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)),
		uintptr(flags), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// The loop's per-connection calls never block (every socket is
// non-blocking), so they are made as raw system calls: the runtime's
// bookkeeping for a call that may block (entersyscall, which also wakes a
// sleeping sysmon after every idle period) is not needed.

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func sysRead(fd int, b []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func sysClose(fd int) error {
	_, _, e := unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
	return errnoErr(e)
}

func sysShutdown(fd, how int) error {
	_, _, e := unix.RawSyscall(unix.SYS_SHUTDOWN, uintptr(fd), uintptr(how), 0)
	return errnoErr(e)
}

func sysSocket(family, typ int) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_SOCKET, uintptr(family), uintptr(typ), 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

func sysSetsockoptInt(fd, level, opt, v int) error {
	v32 := int32(v)
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt), uintptr(unsafe.Pointer(&v32)), 4, 0)
	return errnoErr(e)
}

func sysSplice(from, to, n int) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_SPLICE, uintptr(from), 0, uintptr(to), 0, uintptr(n), unix.SPLICE_F_NONBLOCK|unix.SPLICE_F_MOVE)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func sysEpollCtl(epfd, op, fd int, ev *unix.EpollEvent) error {
	_, _, e := unix.RawSyscall6(unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	return errnoErr(e)
}

// sysEpollPoll returns the events ready now (timeout 0: it never blocks).
func sysEpollPoll(epfd int, evs []unix.EpollEvent) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(unsafe.SliceData(evs))), uintptr(len(evs)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// sysNanosleep sleeps d on the calling thread, keeping its P: the loop's
// short pauses (tens of µs) would take a millisecond through Go's timers,
// whose poller waits in milliseconds. A signal may end it early; the
// thread's timer slack (50 µs by default) may make it longer.
func sysNanosleep(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// sysReset closes fd with a RST (SO_LINGER 0).
func sysReset(fd int) {
	l := unix.Linger{Onoff: 1, Linger: 0}
	unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_LINGER, uintptr(unsafe.Pointer(&l)), unsafe.Sizeof(l), 0)
	sysClose(fd)
}

// sendAll sends b until it is all sent or a call fails (EAGAIN: the socket
// is full); it returns what was sent.
func sendAll(fd int, b []byte, flags int) (int, error) {
	sent := 0
	for sent < len(b) {
		n, err := rawSend(fd, b[sent:], flags)
		if err != nil {
			return sent, err
		}
		sent += n
	}
	return sent, nil
}

// spliceAll moves n bytes from the pipe to the socket, as sendAll.
func spliceAll(pipe, fd, n int) (int, error) {
	moved := 0
	for moved < n {
		m, err := sysSplice(pipe, fd, n-moved)
		if err != nil {
			return moved, err
		}
		if m == 0 {
			return moved, unix.EPIPE
		}
		moved += m
	}
	return moved, nil
}
