package proxy

import (
	"net"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// transparentControl sets IP_TRANSPARENT (IPV6_TRANSPARENT) on a socket
// before it binds: a listener then receives TPROXY'd connections for any
// address, a dialer may bind to a non-local (the client's) address.
func transparentControl(network, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = setTransparent(int(fd), strings.HasSuffix(network, "6"))
	})
	if err != nil {
		return err
	}
	return serr
}

func setTransparent(fd int, v6 bool) error {
	if v6 {
		return unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_TRANSPARENT, 1)
	}
	return unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_TRANSPARENT, 1)
}

// socketMark reads an accepted socket's mark (SO_MARK): the mark of the
// connection's SYN when net.ipv4.tcp_fwmark_accept=1.
func socketMark(c *net.TCPConn) (uint32, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var mark int
	var serr error
	err = rc.Control(func(fd uintptr) {
		mark, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK)
	})
	if err != nil {
		return 0, err
	}
	return uint32(mark), serr
}
