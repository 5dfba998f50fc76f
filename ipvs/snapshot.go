package ipvs

import (
	"net/netip"
	"time"
)

// ServiceInfo is a snapshot of a virtual service for listings.
type ServiceInfo struct {
	ServiceConfig
	Stats StatsInfo
	// Dests in the kernel's list order (newest first).
	Dests []DestInfo
}

// DestInfo is a snapshot of a real server for listings.
type DestInfo struct {
	DestConfig
	Family       Family
	ActiveConns  uint32
	InactConns   uint32
	PersistConns uint32
	Overloaded   bool
	Stats        StatsInfo
}

// ConnInfo is a snapshot of one connection-table entry, as
// /proc/net/ip_vs_conn shows it.
type ConnInfo struct {
	Family Family
	// Protocol is the entry's protocol; ProtoIP (0) for fwmark templates.
	Protocol uint8
	Client   netip.AddrPort
	// Virtual is the virtual address and port; for fwmark templates the
	// address holds the mark (mark 3 is 0.0.0.3) and the port is 0.
	Virtual netip.AddrPort
	Dest    netip.AddrPort
	// State is the state name as the kernel lists it (SYN_RECV, UDP,
	// NONE/ASSURED for templates, ...).
	State string
	// Expires is the time left on the entry's timer (never negative).
	Expires  time.Duration
	Template bool
	Flags    uint32
	PEName   string
	PEData   string
	InPkts   uint32
	// Seq orders entries by creation.
	Seq uint64
}

// Timeouts are the three timeouts ipvsadm --set and -L --timeout handle.
type Timeouts struct {
	TCP, TCPFin, UDP time.Duration
}
