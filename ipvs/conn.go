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
// guarded by mu; the timer's deadline is atomic so that refreshing it takes
// no table lock.
//
// An entry whose timer fires in [Director.Advance] is reused for a later
// entry, as the kernel reuses its slab objects. A *Conn obtained from
// [Director.Process] or [Director.Lookup] may be read while it has not
// expired; a caller that keeps it longer must not read it after it may
// have expired (keep its Dest, which does not change, from before), and
// must not take a pointer equal to it for the same connection unless the
// tuple is the same.
//
// The layout keeps an entry at 144 bytes (a Go size class) and puts what a
// lookup compares in its first 48 bytes.
type Conn struct {
	// kind holds the flags fixed at creation (method, template, one-packet,
	// no-cport) and connUnlinked; lookups read it without the entry's lock.
	kind     atomic.Uint32
	af       Family
	protocol uint8
	cport    uint16
	vport    uint16
	dport    uint16
	daf      Family
	state    uint8
	caddr    addr16
	vaddr    addr16
	daddr    addr16

	mu       sync.Mutex
	flags    uint32
	nControl atomic.Int32
	inPkts   atomic.Uint32
	seq      uint32 // creation order (wraps after 2^32 entries)

	// timeout is the current timeout (set by the state machine).
	timeout time.Duration
	dest    *Dest
	control *Conn

	// Timer (see timer.go): the deadline in jiffies (0 while stopped), the
	// wheel bucket the entry waits in and its position there.
	expJ atomic.Uint64
	tb   atomic.Pointer[bucket]
	tidx int32

	// tports holds a template's client and virtual ports (cport<<16 |
	// vport) for lookups, which read it without a lock while
	// ip_vs_check_template may re-key the template.
	tports atomic.Uint32
}

// stripe is the entry's stripe for its timer wheel (from its client
// address and port); packets pick theirs by processor (cpuStripe).
func (c *Conn) stripe() uint { return stripeFor(c.caddr, c.cport) }

// Private kind bits, above the kernel's flags.
const (
	connUnlinked uint32 = 1 << 30 // left the table: timer fired or deleted
	connHasPE    uint32 = 1 << 31 // persistence-engine data in table.pe
)

type peData struct {
	name string
	data string
}

// Expired reports whether the entry has left the table (its timer fired,
// or it was deleted). Safe for concurrent use.
func (c *Conn) Expired() bool { return c.kind.Load()&connUnlinked != 0 }

// Expires returns the entry's deadline (0 once its timer is stopped).
func (c *Conn) Expires() Time {
	j := c.expJ.Load()
	if j == 0 {
		return 0
	}
	return fromJiffies(j)
}

// Template reports whether c is a persistence template.
func (c *Conn) Template() bool { return c.kind.Load()&ConnTemplate != 0 }

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
	exp := time.Duration(c.Expires() - now)
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
		Seq:      uint64(c.seq),
	}
	return ci
}
