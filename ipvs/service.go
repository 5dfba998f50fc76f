package ipvs

import (
	"net/netip"
	"sync"
	"time"
)

// ServiceFlags mirror the kernel's IP_VS_SVC_F_* bits.
type ServiceFlags uint32

// Service flags (include/uapi/linux/ip_vs.h).
const (
	SvcPersistent ServiceFlags = 0x0001 // IP_VS_SVC_F_PERSISTENT
	SvcHashed     ServiceFlags = 0x0002 // IP_VS_SVC_F_HASHED (internal)
	SvcOnePacket  ServiceFlags = 0x0004 // IP_VS_SVC_F_ONEPACKET
	SvcSched1     ServiceFlags = 0x0008 // IP_VS_SVC_F_SCHED1: sh-fallback, mh-fallback
	SvcSched2     ServiceFlags = 0x0010 // IP_VS_SVC_F_SCHED2: sh-port, mh-port
	SvcSched3     ServiceFlags = 0x0020 // IP_VS_SVC_F_SCHED3

	// SvcSchedMask covers the three scheduler flags.
	SvcSchedMask = SvcSched1 | SvcSched2 | SvcSched3
)

// ServiceKey identifies a virtual service: either (family, protocol,
// address, port) with FWMark 0, or (family, FWMark) for a fwmark service.
type ServiceKey struct {
	Family   Family
	Protocol uint8
	Addr     netip.Addr
	Port     uint16
	FWMark   uint32
}

// IsFWMark reports whether k names a fwmark service.
func (k ServiceKey) IsFWMark() bool { return k.FWMark != 0 }

// ServiceConfig is the configuration of a virtual service, as ipvsadm -A/-E
// sends it to the kernel.
type ServiceConfig struct {
	ServiceKey
	// Scheduler is the kernel name of the scheduler.
	Scheduler string
	// Flags holds SvcPersistent, SvcOnePacket and the scheduler flags.
	Flags ServiceFlags
	// Timeout is the persistence timeout in seconds.
	Timeout uint32
	// Netmask is the persistence granularity: for IPv4 a 32-bit mask in host
	// order (0 means 255.255.255.255), for IPv6 a prefix length (0 means 128).
	Netmask uint32
	// PE is the persistence engine ("sip") or "".
	PE string
	// NetmaskSet marks Netmask as given explicitly, so that an IPv4 mask
	// of 0.0.0.0 (every client shares one template) can be expressed.
	NetmaskSet bool
}

// Service is a virtual service. Its configuration changes only through the
// [Director]; schedulers read it through the accessors below.
type Service struct {
	dir *Director
	key ServiceKey
	seq uint64 // creation order
	// packed virtual address, for keys
	vaddr addr16

	flags      ServiceFlags
	timeout    time.Duration // persistence timeout
	timeoutSec uint32
	netmask    uint32
	pe         string

	// schedMu serializes the scheduler (the kernel's svc->sched_lock).
	schedMu   sync.Mutex
	sched     Scheduler
	schedName string
	// dests is the kernel's svc->destinations: newest first.
	dests []*Dest

	stats Stats
}

// Key returns the service's identity.
func (s *Service) Key() ServiceKey { return s.key }

// Family returns the service's address family.
func (s *Service) Family() Family { return s.key.Family }

// Protocol returns the service's protocol (TCP for fwmark services, as the
// kernel stores it).
func (s *Service) Protocol() uint8 { return s.key.Protocol }

// Port returns the service port (0 for fwmark and port-zero services).
func (s *Service) Port() uint16 { return s.key.Port }

// FWMark returns the service's fwmark, 0 for address services.
func (s *Service) FWMark() uint32 { return s.key.FWMark }

// Flags returns the service flags.
func (s *Service) Flags() ServiceFlags { return s.flags }

// Dests returns the real servers in the kernel's list order, newest first.
// The slice belongs to the service: callers must not modify or keep it.
func (s *Service) Dests() []*Dest { return s.dests }

// Settings returns the director's settings (sysctls) for schedulers that
// read them (lblc_expiration).
func (s *Service) Settings() *Settings { return &s.dir.settings }

// Scheduler returns the service's scheduler.
func (s *Service) Scheduler() Scheduler { return s.sched }

func (s *Service) persistent() bool { return s.flags&SvcPersistent != 0 }

func (s *Service) findDest(af Family, a addr16, port uint16) (*Dest, int) {
	for i, d := range s.dests {
		if d.af == af && d.addr == a && d.port == port {
			return d, i
		}
	}
	return nil, -1
}

func (s *Service) reindex() {
	for i, d := range s.dests {
		d.index = i
	}
}
