package config

import (
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golvs/golvs/ipvs"
)

// checkText refuses free text that YAML cannot carry: invalid UTF-8.
func checkText(line int, path, s string) error {
	if !utf8.ValidString(s) {
		return errAt(line, path, "%q is not valid UTF-8", s)
	}
	return nil
}

// schedFlagNames are ipvsadm -b's names; the index is the flag's bit
// (SvcSched1, 2, 3) and the scheduler, if any, the one it belongs to
// (ipvsadm.c: parse_sched_flags).
var schedFlagNames = []struct {
	name  string
	flag  ipvs.ServiceFlags
	sched string
}{
	{"sh-fallback", ipvs.SvcSched1, "sh"},
	{"sh-port", ipvs.SvcSched2, "sh"},
	{"mh-fallback", ipvs.SvcSched1, "mh"},
	{"mh-port", ipvs.SvcSched2, "mh"},
	{"flag-1", ipvs.SvcSched1, ""},
	{"flag-2", ipvs.SvcSched2, ""},
	{"flag-3", ipvs.SvcSched3, ""},
}

// dnsTypes are the query types keepalived's DNS_CHECK knows.
var dnsTypes = []string{"A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"}

// Validate checks the whole configuration, values and their combinations,
// as the kernel and ipvsadm would when it is applied, so that applying a
// valid configuration cannot fail half way. Scheduler names are checked
// against schedulers (for instance sched.Names()) and "none"; a nil list
// leaves them unchecked. It returns the first error, an *Error.
func (c *Config) Validate(schedulers []string) error {
	if c.LogLevel != "" && indexOf(logLevels, c.LogLevel) < 0 {
		return errAt(c.lines.at("log_level", 0), "log_level", "%q is not one of %s", c.LogLevel, strings.Join(logLevels, ", "))
	}
	for _, f := range []struct{ name, v string }{{"socket", c.Control.Socket}, {"token_file", c.Control.TokenFile}} {
		if err := checkText(c.lines.at("control", 0), "control."+f.name, f.v); err != nil {
			return err
		}
	}
	if c.Control.Listen.IsValid() && c.Control.TokenFile == "" {
		return errAt(c.lines.at("control", 0), "control.listen", "a TCP listener needs control.token_file")
	}
	if err := c.validateSysctl(); err != nil {
		return err
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"tcp", c.Timeouts.TCP}, {"tcpfin", c.Timeouts.TCPFin}, {"udp", c.Timeouts.UDP}} {
		p := "timeouts." + t.name
		line := c.lines.at(p, 0)
		if t.d < 0 {
			return errAt(line, p, "%s is negative", t.d)
		}
		if t.d%time.Second != 0 {
			return errAt(line, p, "%s is not a whole number of seconds", t.d)
		}
		if t.d > MaxTimeout*time.Second {
			return errAt(line, p, "%s is out of range 1s..%ds", fmtDuration(t.d), MaxTimeout)
		}
	}
	if c.MaxConns < 0 {
		return errAt(c.lines.at("max_conns", 0), "max_conns", "%d is negative", c.MaxConns)
	}
	seen := make(map[ipvs.ServiceKey]int)
	for i := range c.Services {
		s := &c.Services[i]
		p := index("services", i)
		if err := s.validate(p, schedulers); err != nil {
			return err
		}
		k := s.Key()
		if j, dup := seen[k]; dup {
			return errAt(s.lines.at(s.keyField(), s.Line), join(p, s.keyField()), "%s is already services[%d]", s.keyString(), j)
		}
		seen[k] = i
	}
	return nil
}

func (c *Config) validateSysctl() error {
	names := make([]string, 0, len(c.Sysctl))
	for n := range c.Sysctl {
		names = append(names, n)
	}
	// In source order, then by name.
	slices.SortFunc(names, func(a, b string) int {
		la, lb := c.lines.at("sysctl."+a, 0), c.lines.at("sysctl."+b, 0)
		if la != lb {
			return la - lb
		}
		return strings.Compare(a, b)
	})
	st := ipvs.DefaultSettings()
	for _, n := range names {
		p := "sysctl." + n
		if err := checkText(c.lines.at(p, c.lines.at("sysctl", 0)), p, c.Sysctl[n]); err != nil {
			return err
		}
		if err := st.Set(n, c.Sysctl[n]); err != nil {
			return errAt(c.lines.at(p, c.lines.at("sysctl", 0)), p, "%s", strings.TrimPrefix(err.Error(), "sysctl "+n+": "))
		}
	}
	return nil
}

// keyField returns the name of the service's identity field.
func (s *Service) keyField() string {
	if s.FWMark != 0 {
		return "fwmark"
	}
	switch s.Protocol {
	case ipvs.ProtoUDP:
		return "udp"
	case ipvs.ProtoSCTP:
		return "sctp"
	}
	return "tcp"
}

func (s *Service) keyString() string {
	if s.FWMark != 0 {
		if s.IPv6 {
			return fmt.Sprintf("%d (ipv6)", s.FWMark)
		}
		return fmt.Sprint(s.FWMark)
	}
	return s.Addr.String()
}

// String names the service as "tcp 192.0.2.1:80" or "fwmark 5".
func (s *Service) String() string { return s.keyField() + " " + s.keyString() }

func (s *Service) validate(p string, schedulers []string) error {
	at := func(field string) (int, string) { return s.lines.at(field, s.Line), join(p, field) }
	kf := s.keyField()
	if s.FWMark == 0 {
		if s.Protocol != ipvs.ProtoTCP && s.Protocol != ipvs.ProtoUDP && s.Protocol != ipvs.ProtoSCTP {
			return errAt(s.Line, p, "needs one of tcp, udp, sctp, fwmark")
		}
		if !s.Addr.Addr().IsValid() {
			l, f := at(kf)
			return errAt(l, f, "needs an address")
		}
		if s.IPv6 {
			l, f := at("ipv6")
			return errAt(l, f, "only for fwmark services (an address gives its own family)")
		}
		if s.Addr.Port() == 0 && s.Persistent == 0 {
			l, f := at(kf)
			return errAt(l, f, "port 0 needs persistent (zero port specified for non-persistent service)")
		}
	} else if s.Protocol != 0 || s.Addr.IsValid() {
		return errAt(s.Line, p, "has both an address and a fwmark")
	}
	if l, f := at("scheduler"); s.Scheduler == "" {
		return errAt(l, f, "is empty")
	} else if err := checkText(l, f, s.Scheduler); err != nil {
		return err
	} else if len(s.Scheduler) > 15 {
		return errAt(l, f, "%q is longer than 15 characters", s.Scheduler)
	} else if schedulers != nil && s.Scheduler != "none" && !slices.Contains(schedulers, s.Scheduler) {
		return errAt(l, f, "unknown scheduler %q (known: %s)", s.Scheduler, strings.Join(schedulers, ", "))
	}
	if s.Persistent > MaxTimeout {
		l, f := at("persistent")
		return errAt(l, f, "%d is out of range 1..%d", s.Persistent, MaxTimeout)
	}
	if s.NetmaskSet && s.Family() == ipvs.AFInet6 && (s.Netmask < 1 || s.Netmask > 128) {
		l, f := at("netmask")
		return errAt(l, f, "%d is out of range 1..128", s.Netmask)
	}
	if s.OPS && s.FWMark == 0 && s.Protocol != ipvs.ProtoUDP {
		l, f := at("ops")
		return errAt(l, f, "one-packet scheduling is only for UDP and fwmark services")
	}
	var flags ipvs.ServiceFlags
	for i, name := range s.SchedFlags {
		l, f := at(index("sched_flags", i))
		j := slices.IndexFunc(schedFlagNames, func(x struct {
			name  string
			flag  ipvs.ServiceFlags
			sched string
		}) bool {
			return x.name == name
		})
		if j < 0 {
			return errAt(l, f, "unknown flag %q (known: sh-fallback, sh-port, mh-fallback, mh-port, flag-1, flag-2, flag-3)", name)
		}
		sf := schedFlagNames[j]
		if sf.sched != "" && sf.sched != s.Scheduler {
			return errAt(l, f, "%s needs scheduler %s", name, sf.sched)
		}
		if flags&sf.flag != 0 {
			return errAt(l, f, "%s repeats a flag given before", name)
		}
		flags |= sf.flag
	}
	if s.PE != "" && s.PE != "sip" {
		l, f := at("pe")
		return errAt(l, f, "unknown persistence engine %q (known: sip)", s.PE)
	}
	if a := s.SorryServer.Addr(); a.IsValid() {
		l, f := at("sorry_server")
		if err := checkUnicast(a); err != "" {
			return errAt(l, f, "%s", err)
		}
		if ipvs.FamilyOf(a) != s.Family() {
			return errAt(l, f, "an %s sorry server in an %s service", famName(ipvs.FamilyOf(a)), famName(s.Family()))
		}
	}
	if s.Mode > ModeTransparent {
		l, f := at("mode")
		return errAt(l, f, "unknown mode %d", s.Mode)
	}
	if s.ProxyProtocol > ProxyV2 {
		l, f := at("proxy_protocol")
		return errAt(l, f, "unknown version %d", s.ProxyProtocol)
	}
	if s.ProxyProtocol != ProxyNone && s.FWMark == 0 && s.Protocol != ipvs.ProtoTCP {
		l, f := at("proxy_protocol")
		return errAt(l, f, "the PROXY protocol needs a TCP or fwmark service")
	}
	type destID struct {
		a    netip.Addr
		port uint16
	}
	seen := make(map[destID]int)
	for i := range s.Servers {
		sv := &s.Servers[i]
		sp := join(p, index("servers", i))
		if err := s.validateServer(sv, sp); err != nil {
			return err
		}
		id := destID{sv.Addr, s.DestPort(sv)}
		if j, dup := seen[id]; dup {
			return errAt(sv.lines.at("address", sv.Line), join(sp, "address"), "%s is already servers[%d]",
				netip.AddrPortFrom(id.a, id.port), j)
		}
		seen[id] = i
	}
	return nil
}

func famName(f ipvs.Family) string {
	if f == ipvs.AFInet6 {
		return "IPv6"
	}
	return "IPv4"
}

// checkUnicast mirrors ip_vs_ctl.c: ip_vs_new_dest (as the core's
// checkDestAddr): a real server must be unicast, and for IPv6 not
// link-local.
func checkUnicast(a netip.Addr) string {
	if a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return fmt.Sprintf("%s is not a unicast address", a)
	}
	if a.Is6() && a.IsLinkLocalUnicast() {
		return fmt.Sprintf("%s is link-local", a)
	}
	return ""
}

func (s *Service) validateServer(sv *Server, p string) error {
	at := func(field string) (int, string) { return sv.lines.at(field, sv.Line), join(p, field) }
	l, f := at("address")
	if !sv.Addr.IsValid() {
		return errAt(sv.Line, p, "needs an address")
	}
	if err := checkUnicast(sv.Addr); err != "" {
		return errAt(l, f, "%s", err)
	}
	switch sv.Method {
	case ipvs.FwdMasq, ipvs.FwdRoute, ipvs.FwdTunnel:
	default:
		l, f := at("method")
		return errAt(l, f, "%s is not one of masq, route, tunnel", sv.Method)
	}
	// ip_vs_ctl.c: ip_vs_genl_set_cmd: mixed families only for tunnels.
	if fam := ipvs.FamilyOf(sv.Addr); fam != s.Family() && sv.Method != ipvs.FwdTunnel {
		return errAt(l, f, "an %s server in an %s service needs method tunnel", famName(fam), famName(s.Family()))
	}
	// ipvsadm forces the service port on -g and -i servers; here a
	// different port is an error rather than silently changed.
	if sv.Method != ipvs.FwdMasq && s.FWMark == 0 && sv.Port != 0 && sv.Port != s.Addr.Port() {
		return errAt(l, f, "port %d differs from the service port %d, which method %s keeps",
			sv.Port, s.Addr.Port(), methodName(sv.Method))
	}
	if sv.Weight < 0 {
		l, f := at("weight")
		return errAt(l, f, "%d is negative", sv.Weight)
	}
	if sv.UThreshold > math.MaxInt32 {
		l, f := at("u_threshold")
		return errAt(l, f, "%d is out of range 0..%d", sv.UThreshold, math.MaxInt32)
	}
	// ip_vs_ctl.c: ip_vs_add_dest: l_threshold > u_threshold is ERANGE,
	// also when u_threshold is 0.
	if sv.LThreshold > sv.UThreshold {
		l, f := at("l_threshold")
		return errAt(l, f, "%d is above u_threshold %d", sv.LThreshold, sv.UThreshold)
	}
	if t := sv.Tunnel; t != nil {
		if sv.Method != ipvs.FwdTunnel {
			l, f := at("tunnel")
			return errAt(l, f, "only for method tunnel")
		}
		if t.Type > ipvs.TunGRE {
			l, f := at("tunnel.type")
			return errAt(l, f, "unknown tunnel type %d", t.Type)
		}
		if t.Type == ipvs.TunGUE && t.Port == 0 {
			l, f := at("tunnel")
			return errAt(l, join(f, "port"), "a gue tunnel needs a port")
		}
		if t.Type != ipvs.TunGUE && t.Port != 0 {
			l, f := at("tunnel.port")
			return errAt(l, f, "only for gue tunnels")
		}
		if t.Flags > ipvs.TunFlagRemCsum || t.Type == ipvs.TunIPIP && t.Flags != ipvs.TunFlagNoCsum ||
			t.Type == ipvs.TunGRE && t.Flags == ipvs.TunFlagRemCsum {
			l, f := at("tunnel.csum")
			return errAt(l, f, "%s is not possible with %s", nameOf(tunCsumNames, int(t.Flags)), nameOf(tunTypeNames, int(t.Type)))
		}
	}
	if sv.Check != nil {
		return sv.Check.validate(join(p, "check"))
	}
	return nil
}

func (c *Check) validate(p string) error {
	at := func(field string) (int, string) { return c.lines.at(field, c.Line), join(p, field) }
	if c.Type < CheckTCP || c.Type > CheckDNS {
		l, f := at("type")
		return errAt(l, f, "needs a type (%s)", strings.Join(checkNames[1:], ", "))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"interval", c.Interval}, {"timeout", c.Timeout}, {"delay_before_retry", c.DelayBeforeRetry}, {"warmup", c.Warmup}} {
		if d.v < 0 {
			l, f := at(d.name)
			return errAt(l, f, "%s is negative", d.v)
		}
	}
	if c.Retries < 0 {
		l, f := at("retries")
		return errAt(l, f, "%d is negative", c.Retries)
	}
	for _, t := range []struct{ name, v string }{
		{"virtualhost", c.VirtualHost}, {"command", c.Command}, {"query_name", c.QueryName},
		{"query_type", c.QueryType}, {"payload", c.Payload}, {"require_reply", c.RequireReply},
	} {
		l, f := at(t.name)
		if err := checkText(l, f, t.v); err != nil {
			return err
		}
	}
	// Fields that belong to other kinds of checks.
	only := func(field string, given bool, types ...CheckType) error {
		if !given || slices.Contains(types, c.Type) {
			return nil
		}
		var names []string
		for _, t := range types {
			names = append(names, t.String())
		}
		l, f := at(field)
		return errAt(l, f, "only for %s checks, not %s", strings.Join(names, " and "), c.Type)
	}
	for _, e := range []error{
		only("urls", len(c.URLs) > 0, CheckHTTP, CheckHTTPS),
		only("virtualhost", c.VirtualHost != "", CheckHTTP, CheckHTTPS),
		only("command", c.Command != "", CheckMisc),
		only("dynamic", c.Dynamic, CheckMisc),
		only("query_name", c.QueryName != "", CheckDNS),
		only("query_type", c.QueryType != "", CheckDNS),
		only("payload", c.Payload != "", CheckUDP),
		only("require_reply", c.RequireReply != "", CheckUDP),
		only("address", c.Address.IsValid(), CheckTCP, CheckHTTP, CheckHTTPS, CheckUDP, CheckDNS),
		only("port", c.Port != 0, CheckTCP, CheckHTTP, CheckHTTPS, CheckUDP, CheckDNS),
	} {
		if e != nil {
			return e
		}
	}
	switch c.Type {
	case CheckHTTP, CheckHTTPS:
		if len(c.URLs) == 0 {
			l, f := at("urls")
			return errAt(l, f, "an %s check needs at least one url", c.Type)
		}
		for i, u := range c.URLs {
			rel := index("urls", i)
			if l, f := at(join(rel, "path")); !strings.HasPrefix(u.Path, "/") {
				return errAt(l, f, "%q does not start with /", u.Path)
			} else if err := checkText(l, f, u.Path); err != nil {
				return err
			}
			for j, r := range u.Status {
				if r.Min < 100 || r.Max > 599 || r.Min > r.Max {
					l, f := at(join(rel, "status"))
					return errAt(l, index(f, j), "%d-%d is not a range of status codes 100..599", r.Min, r.Max)
				}
			}
			if u.Digest != "" {
				l, f := at(join(rel, "digest"))
				if err := checkDigest(u.Digest, l, f); err != nil {
					return err
				}
			}
		}
	case CheckMisc:
		if c.Command == "" {
			l, f := at("command")
			return errAt(l, f, "a misc check needs a command")
		}
	case CheckDNS:
		if c.QueryType != "" && !slices.Contains(dnsTypes, c.QueryType) {
			l, f := at("query_type")
			return errAt(l, f, "%q is not one of %s", c.QueryType, strings.Join(dnsTypes, ", "))
		}
	case CheckUDP:
		for _, h := range []struct{ name, v string }{{"payload", c.Payload}, {"require_reply", c.RequireReply}} {
			if _, err := hex.DecodeString(h.v); err != nil {
				l, f := at(h.name)
				return errAt(l, f, "%q is not hex bytes", h.v)
			}
		}
	}
	return nil
}
