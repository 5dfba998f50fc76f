package ipvs

import (
	"errors"
	"net/netip"
)

// Scheduler chooses a real server for a new connection of one service, as a
// kernel struct ip_vs_scheduler does. Each service owns its own instance
// (the kernel's init_service/sched_data), made by a [SchedulerFactory].
//
// Schedule is called with the service's scheduler lock held and must not
// keep the slice returned by [Service.Dests]. It returns nil when no real
// server can take the connection ("no destination available").
type Scheduler interface {
	// Name returns the kernel name ("rr", "wlc", ...).
	Name() string
	// Schedule picks a destination for p, or returns nil.
	Schedule(s *Service, p *Packet, now Time) *Dest
}

// DestObserver is implemented by schedulers that keep state derived from the
// destination list (the kernel's add_dest, del_dest and upd_dest hooks).
// The hooks run with the service's scheduler lock held, after the list has
// been changed. DelDest receives the destination that preceded d in the list
// before it was unlinked (nil when d was first), which is what the kernel's
// rr uses to move its cursor (ip_vs_rr.c: ip_vs_rr_del_dest).
type DestObserver interface {
	AddDest(s *Service, d *Dest)
	DelDest(s *Service, d *Dest, prev *Dest)
	UpdDest(s *Service, d *Dest)
}

// SchedulerFactory returns a new scheduler instance for the kernel name, or
// an error wrapping [ErrSchedulerNotFound].
type SchedulerFactory func(name string) (Scheduler, error)

// ErrSchedulerNotFound is returned for an unknown scheduler or persistence
// engine name (the kernel's ENOENT: "Scheduler or persistence engine not found").
var ErrSchedulerNotFound = errors.New("scheduler or persistence engine not found")

// Packet is what the core sees of one packet: the addresses as they arrive
// (client to virtual address for [DirIn], real server to client for
// [DirOut]), the mark, the protocol flags that drive the state machines and
// the length counted in statistics.
type Packet struct {
	Family   Family
	Protocol uint8
	Src      netip.Addr
	Dst      netip.Addr
	SrcPort  uint16
	DstPort  uint16
	// Mark is the packet's firewall mark (skb->mark); non-zero marks select
	// fwmark services first.
	Mark uint32
	// Dir tells whether the packet comes from the client or from the real server.
	Dir Direction
	// TCPFlags holds the TCP header flags (TCPSyn, TCPAck, ...).
	TCPFlags uint8
	// SCTPChunk and SCTPNextChunk are the types of the first two SCTP chunks
	// (SCTPNextChunk is 0xff when there is none).
	SCTPChunk, SCTPNextChunk uint8
	// Len is the IP packet's full length, counted in the byte statistics.
	Len int
	// Payload is the transport payload; only the SIP persistence engine reads it.
	Payload []byte
}

// Direction of a packet relative to a connection.
type Direction uint8

// Directions. DirIn is client to director; DirOut is real server to director
// (seen only for NAT).
const (
	DirIn Direction = iota
	DirOut
)

// TCP header flags.
const (
	TCPFin uint8 = 0x01
	TCPSyn uint8 = 0x02
	TCPRst uint8 = 0x04
	TCPPsh uint8 = 0x08
	TCPAck uint8 = 0x10
)

// SCTP chunk types used by the state machine.
const (
	SCTPData             uint8 = 0
	SCTPInit             uint8 = 1
	SCTPInitAck          uint8 = 2
	SCTPSack             uint8 = 3
	SCTPHeartbeat        uint8 = 4
	SCTPHeartbeatAck     uint8 = 5
	SCTPAbort            uint8 = 6
	SCTPShutdown         uint8 = 7
	SCTPShutdownAck      uint8 = 8
	SCTPError            uint8 = 9
	SCTPCookieEcho       uint8 = 10
	SCTPCookieAck        uint8 = 11
	SCTPECNE             uint8 = 12
	SCTPCWR              uint8 = 13
	SCTPShutdownComplete uint8 = 14
	SCTPNone             uint8 = 0xff
)
