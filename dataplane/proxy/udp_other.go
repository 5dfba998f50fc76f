//go:build !linux

package proxy

import (
	"errors"
	"sync/atomic"

	"github.com/golvs/golvs/ipvs"
)

// udpService is served on Linux only (its sessions share one epoll loop).
type udpService struct {
	svc      atomic.Pointer[Service]
	draining atomic.Bool
}

func (p *Proxy) listenUDP(Service) (*udpService, error) {
	return nil, errors.New("proxy: UDP services need Linux")
}

func (u *udpService) sweep(ipvs.Time) bool { return false }

func (u *udpService) close() {}
