//go:build !linux

package proxy

import (
	"errors"

	"github.com/golvs/golvs/ipvs"
)

// Without Linux's epoll the goroutine engine serves TCP.
const useLoops = false

type evloop struct{}

type endpoint struct{}

var errNoLoops = errors.New("proxy: event loops need Linux")

func (p *Proxy) startLoops() error                           { return errNoLoops }
func (p *Proxy) listenTCPLoop(Service) (*tcpListener, error) { return nil, errNoLoops }
func (l *tcpListener) closeLoop()                            {}
func (p *Proxy) sweepLoops(ipvs.Time)                        {}
func (p *Proxy) abortLoops()                                 {}
func (p *Proxy) stopLoops()                                  {}
