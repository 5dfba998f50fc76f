//go:build !linux

package proxy

import (
	"errors"
	"net"
	"syscall"
)

var errNotLinux = errors.New("proxy: transparent sockets and socket marks need Linux")

func transparentControl(string, string, syscall.RawConn) error { return errNotLinux }

func socketMark(*net.TCPConn) (uint32, error) { return 0, errNotLinux }
