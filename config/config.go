package config

import (
	"net/netip"
	"time"

	"github.com/golvs/golvs/ipvs"
)

// Config is a golvs daemon configuration: daemon settings and the desired
// virtual services. [Load] fills it from YAML with the defaults made
// explicit (scheduler wlc, weight 1); a Config built in code must set them
// itself. The Line fields are source lines for error messages (0 when the
// value was not read from a file); they are not part of the configuration.
type Config struct {
	Control Control
	// LogLevel is debug, info, warn or error; "" means info.
	LogLevel string
	// Sysctl holds IPVS sysctls by kernel name (expire_nodest_conn, ...)
	// with their text values, as written to /proc/sys/net/ipv4/vs/NAME.
	Sysctl   map[string]string
	Timeouts Timeouts
	// MaxConns bounds the connection table (ipvs.Settings.MaxConns); 0 means
	// no limit.
	MaxConns int
	Services []Service

	lines lines
}

// Control configures the daemon's control API.
type Control struct {
	// Socket is the Unix socket golvsadm talks to; "" means the daemon's
	// built-in default.
	Socket string
	// Listen is an optional TCP address (ip:port) for the HTTP API; it
	// requires TokenFile.
	Listen netip.AddrPort
	// TokenFile holds the bearer token that TCP clients must present.
	TokenFile string
}

// Timeouts are ipvsadm --set's three timeouts. A zero field means the
// kernel's default (tcp 900 s, tcpfin 120 s, udp 300 s): unlike --set, an
// omitted timeout is reset to the default when a configuration is applied.
type Timeouts struct {
	TCP, TCPFin, UDP time.Duration
}

// Mode is a service's user-space data-plane mode.
type Mode uint8

// Data-plane modes.
const (
	// ModeFullNAT: the director connects to the real server from its own
	// address (the client's address reaches the server only through the
	// PROXY protocol). The default.
	ModeFullNAT Mode = iota
	// ModeTransparent: the director connects from the client's address
	// (IP_TRANSPARENT); replies must route back through the director.
	ModeTransparent
)

var modeNames = []string{"full-nat", "transparent"}

// String returns the mode's configuration name.
func (m Mode) String() string { return nameOf(modeNames, int(m)) }

// ProxyProtocol is the PROXY protocol version sent to real servers.
type ProxyProtocol uint8

// PROXY protocol versions.
const (
	ProxyNone ProxyProtocol = iota
	ProxyV1
	ProxyV2
)

var proxyNames = []string{"none", "v1", "v2"}

// String returns the version's configuration name: none, v1 or v2.
func (p ProxyProtocol) String() string { return nameOf(proxyNames, int(p)) }

// Service is a virtual service and its real servers.
type Service struct {
	// Protocol is ipvs.ProtoTCP, ProtoUDP or ProtoSCTP for an address
	// service (Addr set, FWMark 0), and 0 for a fwmark service.
	Protocol uint8
	Addr     netip.AddrPort
	FWMark   uint32
	// IPv6 makes a fwmark service an IPv6 one (ipvsadm -f N -6).
	IPv6 bool
	// Scheduler is the kernel name of the scheduler (Load's default: wlc,
	// as ipvsadm's).
	Scheduler string
	// Persistent is the persistence timeout in seconds; 0: not persistent.
	Persistent uint32
	// Netmask is the persistence granularity in ipvs.ServiceConfig's
	// encoding (IPv4: a mask in host order; IPv6: a prefix length), given
	// only when NetmaskSet; otherwise 255.255.255.255 or 128.
	Netmask    uint32
	NetmaskSet bool
	// OPS is one-packet scheduling (ipvsadm -o).
	OPS bool
	// SchedFlags are ipvsadm -b names: sh-fallback, sh-port, mh-fallback,
	// mh-port, flag-1, flag-2, flag-3.
	SchedFlags []string
	// PE is the persistence engine ("sip") or "".
	PE string
	// SorryServer takes the traffic when the alive servers' weights add up
	// to less than Quorum; its port 0 means the service's port.
	SorryServer netip.AddrPort
	// Quorum is the total weight of alive servers the service needs
	// (keepalived's quorum); 0 means 1.
	Quorum uint32
	// Hysteresis is keepalived's quorum hysteresis.
	Hysteresis    uint32
	Mode          Mode
	ProxyProtocol ProxyProtocol
	Servers       []Server

	// Line is the source line of the service.
	Line  int
	lines lines
}

// Server is a real server of a service.
type Server struct {
	Addr netip.Addr
	// Port 0 means the service's port (for fwmark services: the packet's).
	Port uint16
	// Weight is 0..2147483647 (Load's default: 1); 0 quiesces the server.
	Weight int32
	// Method is ipvs.FwdMasq (the default: the user-space data plane
	// proxies, which is NAT), FwdRoute or FwdTunnel.
	Method     ipvs.FwdMethod
	Tunnel     *Tunnel
	UThreshold uint32
	LThreshold uint32
	Check      *Check

	// Line is the source line of the server.
	Line  int
	lines lines
}

// Tunnel is the encapsulation of a tunnel server (ipvsadm --tun-*).
type Tunnel struct {
	// Type is ipvs.TunIPIP, TunGUE or TunGRE.
	Type uint8
	// Port is the GUE destination port (required for GUE only).
	Port uint16
	// Flags is ipvs.TunFlagNoCsum, TunFlagCsum or TunFlagRemCsum.
	Flags uint16
}

// CheckType is a health check kind.
type CheckType uint8

// Health check kinds, as keepalived's TCP_CHECK, HTTP_GET, SSL_GET,
// MISC_CHECK, UDP_CHECK and DNS_CHECK.
const (
	CheckTCP CheckType = iota + 1
	CheckHTTP
	CheckHTTPS
	CheckMisc
	CheckUDP
	CheckDNS
)

var checkNames = []string{"", "tcp", "http", "https", "misc", "udp", "dns"}

// String returns the type's configuration name.
func (t CheckType) String() string { return nameOf(checkNames, int(t)) }

// Check is a real server's health check. golvs validates it; running it is
// the health checker's business. Zero durations and retries mean the
// checker's defaults (see [Check.WithDefaults]).
type Check struct {
	Type CheckType
	// Interval is the time between checks (keepalived's delay_loop).
	Interval time.Duration
	// Timeout bounds one attempt (connect_timeout; misc_timeout for misc).
	Timeout time.Duration
	// Retries is how many failed attempts in a row mark the server down.
	Retries int
	// DelayBeforeRetry is the pause after a failed attempt.
	DelayBeforeRetry time.Duration
	// Warmup delays the first check by a random time up to Warmup.
	Warmup time.Duration
	// InhibitOnFailure sets a failed server's weight to 0 instead of
	// removing it, so its established connections go on.
	InhibitOnFailure bool

	// Address and Port override where the check connects (connect_ip,
	// connect_port); zero: the server's.
	Address netip.Addr
	Port    uint16

	// URLs are what http and https checks fetch.
	URLs []URL
	// VirtualHost is the HTTP Host header (http, https).
	VirtualHost string
	// Command and Dynamic are a misc check's command line and whether its
	// exit code (2..255: weight+2) sets the weight (misc_dynamic).
	Command string
	Dynamic bool
	// QueryName and QueryType are a dns check's question (default ". SOA").
	QueryName string
	QueryType string
	// Payload and RequireReply are a udp check's datagram and expected
	// answer, in hex.
	Payload      string
	RequireReply string

	// Line is the source line of the check.
	Line  int
	lines lines
}

// URL is one page an http or https check fetches.
type URL struct {
	Path string
	// Status lists the accepted status codes; empty means 200..299.
	Status []StatusRange
	// Digest is the hex MD5 of the expected body, or "".
	Digest string
}

// StatusRange is a range of HTTP status codes, Min..Max inclusive.
type StatusRange struct{ Min, Max int }

// Check defaults, as keepalived's.
const (
	DefaultCheckInterval    = 60 * time.Second
	DefaultCheckTimeout     = 5 * time.Second
	DefaultCheckRetries     = 1
	DefaultDelayBeforeRetry = 1 * time.Second
)

// WithDefaults returns a copy of c with zero durations and retries replaced
// by the defaults.
func (c Check) WithDefaults() Check {
	if c.Interval == 0 {
		c.Interval = DefaultCheckInterval
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultCheckTimeout
	}
	if c.Retries == 0 {
		c.Retries = DefaultCheckRetries
	}
	if c.DelayBeforeRetry == 0 {
		c.DelayBeforeRetry = DefaultDelayBeforeRetry
	}
	if c.Type == CheckDNS {
		if c.QueryName == "" {
			c.QueryName = "."
		}
		if c.QueryType == "" {
			c.QueryType = "SOA"
		}
	}
	return c
}

// Key returns the service's identity as the director stores it.
func (s *Service) Key() ipvs.ServiceKey {
	if s.FWMark != 0 {
		k := ipvs.ServiceKey{Family: ipvs.AFInet, Protocol: ipvs.ProtoTCP, FWMark: s.FWMark}
		if s.IPv6 {
			k.Family = ipvs.AFInet6
		}
		return k
	}
	a := s.Addr.Addr().Unmap()
	return ipvs.ServiceKey{Family: ipvs.FamilyOf(a), Protocol: s.Protocol, Addr: a, Port: s.Addr.Port()}
}

// Family returns the service's address family.
func (s *Service) Family() ipvs.Family { return s.Key().Family }

// DestPort returns the port a real server's Port stands for in s.
func (s *Service) DestPort(sv *Server) uint16 {
	if sv.Port != 0 {
		return sv.Port
	}
	return s.Addr.Port()
}

// SetFieldLine records the source line of one of the service's fields,
// named as in the YAML schema ("scheduler", "sched_flags[0]"), for
// [Config.Validate]'s messages. Importers of other formats use it; Load
// records every line itself.
func (s *Service) SetFieldLine(field string, line int) { s.lines.set(field, line) }

// SetFieldLine records the source line of one of the server's fields
// ("weight", "tunnel.port"); see [Service.SetFieldLine].
func (sv *Server) SetFieldLine(field string, line int) { sv.lines.set(field, line) }

// SetFieldLine records the source line of one of the check's fields
// ("interval", "urls[0].path"); see [Service.SetFieldLine].
func (c *Check) SetFieldLine(field string, line int) { c.lines.set(field, line) }

// lines maps a field's path relative to its struct to its source line.
type lines map[string]int

func (l *lines) set(field string, line int) {
	if *l == nil {
		*l = make(lines)
	}
	(*l)[field] = line
}

// at returns the line of field, or def when it is not known.
func (l lines) at(field string, def int) int {
	if n, ok := l[field]; ok {
		return n
	}
	return def
}

func nameOf(names []string, i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return "?"
}

func indexOf(names []string, s string) int {
	for i, n := range names {
		if n == s && n != "" {
			return i
		}
	}
	return -1
}
