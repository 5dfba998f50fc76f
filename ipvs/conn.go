package ipvs

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Connection flags (IP_VS_CONN_F_*, include/uapi/linux/ip_vs.h).
const (
	ConnFwdMask   uint32 = 0x0007
	ConnSync      uint32 = 0x0020
	ConnHashed    uint32 = 0x0040
	ConnNoOutput  uint32 = 0x0080
	ConnInactive  uint32 = 0x0100
	ConnNoCport   uint32 = 0x0800
	ConnTemplate  uint32 = 0x1000
	ConnOnePacket uint32 = 0x2000
	ConnNFCT      uint32 = 1 << 16
)

// Template states (IP_VS_CTPL_S_*).
const (
	tplNone    uint8 = 0
	tplAssured uint8 = 1
)

// Conn is a connection-table entry: a connection, or a persistence template
// when ConnTemplate is set. Fields that change on the packet path are
// guarded by mu; the timer deadline is atomic so that refreshing it takes
// no table lock.
type Conn struct {
	mu sync.Mutex

	af       Family
	daf      Family
	protocol uint8
	state    uint8
	// kind holds the flags fixed at creation (method, template, one-packet,
	// no-cport); lookups read it without the lock.
	kind   uint32
	flags  uint32
	cport  uint16
	vport  uint16
	dport  uint16
	caddr  addr16
	vaddr  addr16
	daddr  addr16
	fwmark uint32

	dest     *Dest
	control  *Conn
	nControl atomic.Int32
	inPkts   atomic.Uint32

	// timeout is the current timeout (set by the state machine).
	timeout time.Duration
	// expires is the timer's deadline (Time); 0 while the timer is stopped.
	expires atomic.Int64

	// owned by the table
	seq      uint64
	hashIn   uint64
	hashOut  uint64
	nextIn   *Conn
	nextOut  *Conn
	heapIdx  atomic.Int32
	heapKey  atomic.Int64
	fireAt   atomic.Int64
	expiresJ atomic.Uint64 // deadline in jiffies
	level    atomic.Int32
	armSeq   atomic.Uint64
	unlinked atomic.Bool

	pe *peData
}

type peData struct {
	name string
	data string
}

// Expired reports whether the entry has left the table (its timer fired,
// or it was deleted). Safe for concurrent use.
func (c *Conn) Expired() bool { return c.unlinked.Load() }

// Expires returns the entry's deadline (0 once its timer is stopped).
func (c *Conn) Expires() Time { return Time(c.expires.Load()) }

// Template reports whether c is a persistence template.
func (c *Conn) Template() bool { return c.kind&ConnTemplate != 0 }

// Dest returns the real server the entry is bound to.
func (c *Conn) Dest() *Dest { return c.dest }

// DestAddrPort returns the real server's address and port for this entry.
func (c *Conn) DestAddrPort() netip.AddrPort {
	return netip.AddrPortFrom(c.daddr.unpack(c.daf), c.dport)
}

// Client returns the client address and port.
func (c *Conn) Client() netip.AddrPort { return netip.AddrPortFrom(c.caddr.unpack(c.af), c.cport) }

// Virtual returns the virtual address and port.
func (c *Conn) Virtual() netip.AddrPort { return netip.AddrPortFrom(c.vaddr.unpack(c.af), c.vport) }

// Protocol returns the entry's protocol.
func (c *Conn) Protocol() uint8 { return c.protocol }

// Flags returns the entry's flags.
func (c *Conn) Flags() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flags
}

// StateName returns the state as the kernel lists it.
func (c *Conn) StateName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stateNameLocked()
}

func (c *Conn) stateNameLocked() string {
	if c.flags&ConnTemplate != 0 {
		if c.state&tplAssured != 0 {
			return "ASSURED"
		}
		return "NONE"
	}
	switch c.protocol {
	case ProtoTCP:
		return tcpStateName(c.state)
	case ProtoUDP:
		return "UDP"
	case ProtoSCTP:
		return sctpStateName(c.state)
	case ProtoIP:
		return "NONE"
	}
	return "ERR!"
}

func (c *Conn) info(now Time) ConnInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp := time.Duration(Time(c.expires.Load()) - now)
	if exp < 0 {
		exp = 0
	}
	ci := ConnInfo{
		Family:   c.af,
		Protocol: c.protocol,
		Client:   netip.AddrPortFrom(c.caddr.unpack(c.af), c.cport),
		Virtual:  netip.AddrPortFrom(c.vaddr.unpack(c.af), c.vport),
		Dest:     netip.AddrPortFrom(c.daddr.unpack(c.daf), c.dport),
		State:    c.stateNameLocked(),
		Expires:  exp,
		Template: c.flags&ConnTemplate != 0,
		Flags:    c.flags,
		InPkts:   c.inPkts.Load(),
		Seq:      c.seq,
	}
	if c.pe != nil {
		ci.PEName, ci.PEData = c.pe.name, c.pe.data
	}
	return ci
}
