// Package keepalived imports the virtual_server blocks of a keepalived.conf
// into a golvs [config.Config].
//
// What is read: virtual_server (IP PORT, or fwmark N) with delay_loop,
// lb_algo/lvs_sched, lb_kind/lvs_method (NAT, DR, TUN with its tunnel
// options), persistence_timeout, persistence_granularity,
// persistence_engine, protocol, ip_family, ops and the scheduler flags,
// sorry_server, quorum, hysteresis, and the checker defaults retry,
// delay_before_retry, warmup, inhibit_on_failure and virtualhost;
// real_server with weight, lvs_method, uthreshold, lthreshold,
// inhibit_on_failure, the same checker defaults, and one checker among
// TCP_CHECK, HTTP_GET, SSL_GET (url blocks with path, status_code, digest),
// MISC_CHECK (misc_path, misc_timeout, misc_dynamic), DNS_CHECK (type,
// name) and UDP_CHECK (payload, require_reply), with their connect_ip,
// connect_port, connect_timeout, retry or nb_get_retry, delay_before_retry,
// warmup and delay_loop.
//
// Everything else of keepalived (global_defs, vrrp_*, notify scripts, SMTP
// alerts, ...) is left out, each with a [Warning]; so are unknown keywords
// inside the blocks above. Structural errors (an unclosed block, a
// real_server without an address, a value that is not a number) and what
// cannot be imported faithfully (include, parameter substitution,
// virtual_server group) fail with the line. The result is validated with
// [config.Config.Validate] against the known schedulers, its errors naming
// keepalived.conf's lines.
//
// Where keepalived would log and skip, the importer warns and does the
// same: a real or sorry server of the other address family (not
// tunnelled) is skipped, a DR or TUN real server's port is replaced by the
// service's (the kernel ignores it), a quorum of 0 becomes 1.
package keepalived

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golvs/golvs/config"
	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
)

// MaxSize is the largest file Parse reads, in bytes.
const MaxSize = 16 << 20

// ParseFile imports the keepalived.conf at path; errors name the file.
func ParseFile(path string) (*config.Config, []Warning, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	c, w, err := Parse(f)
	var e *Error
	if errors.As(err, &e) {
		e.File = path
	}
	return c, w, err
}

// Parse imports a keepalived.conf. On error the config is nil and the error
// an *Error; warnings list what was left out, in file order.
func Parse(r io.Reader) (*config.Config, []Warning, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > MaxSize {
		return nil, nil, errAt(0, "larger than %d bytes", MaxSize)
	}
	stmts, err := parse(string(data))
	if err != nil {
		return nil, nil, err
	}
	im := &importer{}
	c, err := im.file(stmts)
	if err != nil {
		return nil, nil, err
	}
	if err := c.Validate(sched.Names()); err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			msg := ce.Msg
			if ce.Field != "" {
				msg = ce.Field + ": " + msg
			}
			return nil, nil, errAt(ce.Line, "%s", msg)
		}
		return nil, nil, err
	}
	// Some warnings are found after their block was read: file order.
	slices.SortStableFunc(im.warns, func(a, b Warning) int { return a.Line - b.Line })
	return c, im.warns, nil
}

type importer struct {
	warns []Warning
}

func (im *importer) warn(line int, format string, args ...any) {
	im.warns = append(im.warns, Warning{Line: line, Msg: fmt.Sprintf(format, args...)})
}

// ignoredTop are keepalived's top-level blocks that have no golvs meaning.
var ignoredTop = []string{
	"global_defs", "vrrp_instance", "vrrp_sync_group", "vrrp_script", "vrrp_track_file",
	"vrrp_track_process", "static_ipaddress", "static_routes", "static_rules", "linkbeat_interfaces",
	"track_file", "track_process", "bfd_instance", "garp_group", "net_namespace", "SSL",
	"virtual_server_group", "instance", "use_pid_dir", "vrrp_garp_master_delay",
}

func (im *importer) file(stmts []*stmt) (*config.Config, error) {
	c := &config.Config{}
	seen := make(map[ipvs.ServiceKey]int)
	for _, s := range stmts {
		switch {
		case strings.HasPrefix(s.key, "$"):
			// A definition is harmless until a virtual_server uses it.
			im.warn(s.line, "parameter definition %s ignored", strings.SplitN(s.key, "=", 2)[0])
			continue
		case s.key != "virtual_server" && !slices.Contains(ignoredTop, s.key):
			if err := checkSyntax(&stmt{key: s.key, line: s.line}); err != nil {
				return nil, err
			}
		}
		switch {
		case s.key == "virtual_server":
			if err := checkSyntax(s); err != nil {
				return nil, err
			}
			svc, err := im.virtualServer(s)
			if err != nil {
				return nil, err
			}
			if svc == nil {
				continue
			}
			// keepalived merges nothing: a second block for one service is
			// an error in the file.
			if first, dup := seen[svc.Key()]; dup {
				return nil, errAt(s.line, "virtual_server %s is already defined on line %d", svc, first)
			}
			seen[svc.Key()] = s.line
			c.Services = append(c.Services, *svc)
		case slices.Contains(ignoredTop, s.key):
			im.warn(s.line, "%s ignored: golvs imports virtual servers only", s.key)
		default:
			im.warn(s.line, "unknown keyword %s ignored", s.key)
		}
	}
	return c, nil
}

// checkSyntax refuses, in a virtual_server block (or as a top-level
// keyword), what keepalived would expand before parsing: include files,
// parameters, conditions and sequences.
func checkSyntax(s *stmt) error {
	switch {
	case s.key == "include":
		return errAt(s.line, "include is not supported: import each file on its own")
	case strings.HasPrefix(s.key, "$"):
		return errAt(s.line, "parameter definitions ($NAME=value) are not supported")
	case strings.HasPrefix(s.key, "@"):
		return errAt(s.line, "conditional configuration (%s) is not supported", s.key)
	case strings.HasPrefix(s.key, "~"):
		return errAt(s.line, "sequences (%s) are not supported", s.key)
	}
	for i, a := range s.args {
		if strings.HasPrefix(a, "$") && !s.quoted[i] {
			return errAt(s.line, "parameter substitution (%s) is not supported", a)
		}
	}
	for _, c := range s.block {
		if err := checkSyntax(c); err != nil {
			return err
		}
	}
	return nil
}

// defaults are the checker settings a virtual_server or real_server gives
// to the checkers inside it.
type defaults struct {
	interval, delayBeforeRetry, warmup time.Duration
	retries                            int
	inhibit                            *bool
	virtualhost                        string
}

// over returns d with o's settings where o has them.
func (d defaults) over(o defaults) defaults {
	if o.interval != 0 {
		d.interval = o.interval
	}
	if o.delayBeforeRetry != 0 {
		d.delayBeforeRetry = o.delayBeforeRetry
	}
	if o.warmup != 0 {
		d.warmup = o.warmup
	}
	if o.retries != 0 {
		d.retries = o.retries
	}
	if o.inhibit != nil {
		d.inhibit = o.inhibit
	}
	if o.virtualhost != "" {
		d.virtualhost = o.virtualhost
	}
	return d
}

// defaultsKeyword reads a checker default; it reports whether s was one.
func defaultsKeyword(s *stmt, d *defaults) (bool, error) {
	var err error
	switch s.key {
	case "delay_loop":
		d.interval, err = timer(s)
	case "delay_before_retry":
		d.delayBeforeRetry, err = timer(s)
	case "warmup":
		d.warmup, err = timer(s)
	case "retry", "nb_get_retry":
		var n uint64
		n, err = uintArg(s, 1, math.MaxInt32)
		d.retries = int(n)
	case "inhibit_on_failure":
		var b bool
		b, err = optBool(s)
		d.inhibit = &b
	case "virtualhost":
		d.virtualhost, err = oneArg(s)
	default:
		return false, nil
	}
	return true, err
}

// method is a forwarding method with its tunnel settings.
type method struct {
	set    bool
	m      ipvs.FwdMethod
	tunnel *config.Tunnel
	line   int
}

func (im *importer) virtualServer(s *stmt) (*config.Service, error) {
	if !s.hasBlock {
		return nil, errAt(s.line, "virtual_server needs a { block }")
	}
	svc := &config.Service{Line: s.line, Scheduler: "wlc"}
	switch {
	case len(s.args) == 2 && s.args[0] == "group":
		return nil, errAt(s.line, "virtual_server group is not supported: write one virtual_server per address")
	case len(s.args) == 2 && s.args[0] == "fwmark":
		m, err := strconv.ParseUint(s.args[1], 10, 32)
		if err != nil || m == 0 {
			return nil, errAt(s.line, "virtual_server fwmark: %q is not a mark 1..4294967295", s.args[1])
		}
		svc.FWMark = uint32(m)
	case len(s.args) == 1 || len(s.args) == 2:
		a, err := netip.ParseAddr(s.args[0])
		if err != nil || a.Zone() != "" {
			return nil, errAt(s.line, "virtual_server: %q is not an IP address", s.args[0])
		}
		var port uint64
		if len(s.args) == 2 {
			if port, err = strconv.ParseUint(s.args[1], 10, 16); err != nil {
				return nil, errAt(s.line, "virtual_server: %q is not a port", s.args[1])
			}
		}
		svc.Addr = netip.AddrPortFrom(a.Unmap(), uint16(port))
		svc.Protocol = ipvs.ProtoTCP
	default:
		return nil, errAt(s.line, "virtual_server needs IP PORT or fwmark N")
	}

	var (
		def      defaults
		meth     method
		family   string
		famLine  int
		granular *stmt
		reals    []*stmt
		sorry    *stmt
	)
	for _, c := range s.block {
		if ok, err := defaultsKeyword(c, &def); ok {
			if err == nil && c.hasBlock {
				err = errAt(c.line, "%s takes no block", c.key)
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		if c.key == "real_server" {
			reals = append(reals, c)
			continue
		}
		if c.hasBlock {
			im.warn(c.line, "unknown block %s in virtual_server ignored", c.key)
			continue
		}
		var err error
		switch c.key {
		case "lb_algo", "lvs_sched":
			if svc.Scheduler, err = oneArg(c); err == nil {
				svc.SetFieldLine("scheduler", c.line)
			}
		case "lb_kind", "lvs_method":
			meth, err = parseMethod(c)
		case "persistence_timeout":
			// ip_vs.h: IPVS_SVC_PERSISTENT_TIMEOUT without a value.
			svc.Persistent = config.DefaultPersistent
			if len(c.args) > 0 {
				var t uint64
				t, err = uintArg(c, 0, config.MaxTimeout)
				svc.Persistent = uint32(t)
			}
			svc.SetFieldLine("persistent", c.line)
		case "persistence_granularity":
			_, err = oneArg(c)
			granular = c
		case "persistence_engine":
			if svc.PE, err = oneArg(c); err == nil {
				svc.SetFieldLine("pe", c.line)
			}
		case "protocol":
			var p string
			if p, err = oneArg(c); err == nil && svc.FWMark == 0 {
				switch strings.ToUpper(p) {
				case "TCP":
					svc.Protocol = ipvs.ProtoTCP
				case "UDP":
					svc.Protocol = ipvs.ProtoUDP
				case "SCTP":
					svc.Protocol = ipvs.ProtoSCTP
				default:
					err = errAt(c.line, "protocol: %q is not TCP, UDP or SCTP", p)
				}
				svc.SetFieldLine(svcKeyField(svc.Protocol), c.line)
			} else if err == nil {
				im.warn(c.line, "protocol ignored: a fwmark service takes every protocol")
			}
		case "ip_family":
			if family, err = oneArg(c); err == nil && family != "inet" && family != "inet6" {
				err = errAt(c.line, "ip_family: %q is not inet or inet6", family)
			}
			famLine = c.line
		case "sorry_server":
			sorry = c
		case "quorum":
			var q uint64
			if q, err = uintArg(c, 0, math.MaxUint32); err == nil {
				if q == 0 {
					im.warn(c.line, "quorum 0 is taken as 1, as keepalived does")
				}
				svc.Quorum = uint32(q)
			}
		case "hysteresis":
			var h uint64
			h, err = uintArg(c, 0, math.MaxUint32)
			svc.Hysteresis = uint32(h)
		case "ops":
			err = noArgs(c)
			svc.OPS = true
			svc.SetFieldLine("ops", c.line)
		case "sh-port", "sh-fallback", "mh-port", "mh-fallback", "flag-1", "flag-2", "flag-3":
			err = noArgs(c)
			svc.SetFieldLine(fmt.Sprintf("sched_flags[%d]", len(svc.SchedFlags)), c.line)
			svc.SchedFlags = append(svc.SchedFlags, c.key)
		case "hashed":
			im.warn(c.line, "hashed ignored: the flag is internal to the kernel")
		case "sorry_server_inhibit", "sorry_server_lvs_method", "alpha", "omega", "quorum_up",
			"quorum_down", "ha_suspend", "smtp_alert", "weight":
			im.warn(c.line, "%s is not imported", c.key)
		default:
			im.warn(c.line, "unknown keyword %s in virtual_server ignored", c.key)
		}
		if err != nil {
			return nil, err
		}
	}

	// The family of a fwmark service: ip_family, else that of its first
	// real server that is not tunnelled, else of its sorry server
	// (check_parser.c: vs_end_handler, rs_end_handler).
	if svc.FWMark != 0 {
		switch {
		case family == "inet6":
			svc.IPv6 = true
		case family == "":
			for _, r := range reals {
				if a, err := netip.ParseAddr(argOr(r, 0)); err == nil && !tunnelled(r, meth) {
					svc.IPv6 = a.Unmap().Is6()
					break
				}
			}
		}
	} else if family != "" && (family == "inet6") != svc.Addr.Addr().Is6() {
		return nil, errAt(famLine, "ip_family %s does not match the address %s", family, svc.Addr.Addr())
	}
	if granular != nil {
		if err := granularity(granular, svc); err != nil {
			return nil, err
		}
	}
	if sorry != nil {
		a, port, err := address(sorry, "sorry_server")
		if err != nil {
			return nil, err
		}
		if ipvs.FamilyOf(a) != svc.Family() {
			im.warn(sorry.line, "sorry_server %s skipped: its address family is not the service's", a)
		} else {
			svc.SorryServer = netip.AddrPortFrom(a, port)
			svc.SetFieldLine("sorry_server", sorry.line)
		}
	}
	for _, r := range reals {
		sv, err := im.realServer(r, svc, meth, def)
		if err != nil {
			return nil, err
		}
		if sv != nil {
			svc.Servers = append(svc.Servers, *sv)
		}
	}
	return svc, nil
}

func svcKeyField(p uint8) string {
	switch p {
	case ipvs.ProtoUDP:
		return "udp"
	case ipvs.ProtoSCTP:
		return "sctp"
	}
	return "tcp"
}

func argOr(s *stmt, i int) string {
	if i < len(s.args) {
		return s.args[i]
	}
	return ""
}

// tunnelled reports whether real server r forwards by tunnel, its own
// lvs_method or the virtual server's.
func tunnelled(r *stmt, vs method) bool {
	for _, c := range r.block {
		if c.key == "lvs_method" || c.key == "lb_kind" {
			return argOr(c, 0) == "TUN"
		}
	}
	return vs.set && vs.m == ipvs.FwdTunnel
}

// granularity reads persistence_granularity: a mask for IPv4, a prefix
// length for IPv6. Like keepalived it turns persistence on (360 s).
func granularity(c *stmt, svc *config.Service) error {
	v := c.args[0]
	if svc.Family() == ipvs.AFInet6 {
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil || n < 1 || n > 128 {
			return errAt(c.line, "persistence_granularity: %q is not an IPv6 prefix length 1..128", v)
		}
		svc.Netmask = uint32(n)
	} else {
		a, err := netip.ParseAddr(v)
		if err != nil || !a.Is4() {
			return errAt(c.line, "persistence_granularity: %q is not an IPv4 netmask", v)
		}
		b := a.As4()
		svc.Netmask = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	}
	svc.NetmaskSet = true
	svc.SetFieldLine("netmask", c.line)
	if svc.Persistent == 0 {
		svc.Persistent = config.DefaultPersistent
	}
	return nil
}

// parseMethod reads "NAT", "DR" or "TUN [type ipip|gue|gre] [port N]
// [nocsum|csum|remcsum]".
func parseMethod(c *stmt) (method, error) {
	m := method{set: true, line: c.line}
	if len(c.args) == 0 {
		return m, errAt(c.line, "%s needs NAT, DR or TUN", c.key)
	}
	switch c.args[0] {
	case "NAT":
		m.m = ipvs.FwdMasq
	case "DR":
		m.m = ipvs.FwdRoute
	case "TUN":
		m.m = ipvs.FwdTunnel
	default:
		return m, errAt(c.line, "%s: %q is not NAT, DR or TUN", c.key, c.args[0])
	}
	rest := c.args[1:]
	if m.m != ipvs.FwdTunnel {
		if len(rest) > 0 {
			return m, errAt(c.line, "%s %s takes no options", c.key, c.args[0])
		}
		return m, nil
	}
	if len(rest) == 0 {
		return m, nil
	}
	t := &config.Tunnel{}
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case "type":
			if i+1 >= len(rest) {
				return m, errAt(c.line, "%s TUN type needs ipip, gue or gre", c.key)
			}
			i++
			switch rest[i] {
			case "ipip":
				t.Type = ipvs.TunIPIP
			case "gue":
				t.Type = ipvs.TunGUE
			case "gre":
				t.Type = ipvs.TunGRE
			default:
				return m, errAt(c.line, "%s TUN type: %q is not ipip, gue or gre", c.key, rest[i])
			}
		case "port":
			if i+1 >= len(rest) {
				return m, errAt(c.line, "%s TUN port needs a port", c.key)
			}
			i++
			p, err := strconv.ParseUint(rest[i], 10, 16)
			if err != nil || p == 0 {
				return m, errAt(c.line, "%s TUN port: %q is not a port 1..65535", c.key, rest[i])
			}
			t.Port = uint16(p)
		case "nocsum":
			t.Flags = ipvs.TunFlagNoCsum
		case "csum":
			t.Flags = ipvs.TunFlagCsum
		case "remcsum":
			t.Flags = ipvs.TunFlagRemCsum
		default:
			return m, errAt(c.line, "%s TUN: unknown option %q", c.key, rest[i])
		}
	}
	m.tunnel = t
	return m, nil
}

// address reads "IP [PORT]".
func address(c *stmt, what string) (netip.Addr, uint16, error) {
	if len(c.args) < 1 || len(c.args) > 2 {
		return netip.Addr{}, 0, errAt(c.line, "%s needs IP [PORT]", what)
	}
	a, err := netip.ParseAddr(c.args[0])
	if err != nil || a.Zone() != "" {
		return a, 0, errAt(c.line, "%s: %q is not an IP address", what, c.args[0])
	}
	var port uint64
	if len(c.args) == 2 {
		if port, err = strconv.ParseUint(c.args[1], 10, 16); err != nil {
			return a, 0, errAt(c.line, "%s: %q is not a port", what, c.args[1])
		}
	}
	return a.Unmap(), uint16(port), nil
}

func (im *importer) realServer(r *stmt, svc *config.Service, vsMeth method, vsDef defaults) (*config.Server, error) {
	if !r.hasBlock {
		return nil, errAt(r.line, "real_server needs a { block }")
	}
	a, port, err := address(r, "real_server")
	if err != nil {
		return nil, err
	}
	sv := &config.Server{Addr: a, Port: port, Weight: 1, Line: r.line}
	sv.SetFieldLine("address", r.line)
	var def defaults
	meth := vsMeth
	var check *config.Check
	var checkDef defaults
	for _, c := range r.block {
		if ok, err := defaultsKeyword(c, &def); ok {
			if err == nil && c.hasBlock {
				err = errAt(c.line, "%s takes no block", c.key)
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		if t, ok := checkTypes[c.key]; ok {
			if !c.hasBlock {
				return nil, errAt(c.line, "%s needs a { block }", c.key)
			}
			if check != nil {
				im.warn(c.line, "%s ignored: golvs keeps one checker per real server", c.key)
				continue
			}
			if check, checkDef, err = im.checker(c, t); err != nil {
				return nil, err
			}
			continue
		}
		if c.hasBlock {
			if slices.Contains([]string{"SMTP_CHECK", "BFD_CHECK", "FILE_CHECK", "PING_CHECK"}, c.key) {
				im.warn(c.line, "%s is not supported; ignored", c.key)
			} else {
				im.warn(c.line, "unknown block %s in real_server ignored", c.key)
			}
			continue
		}
		switch c.key {
		case "weight":
			// keepalived reads weights with atoi; golvs wants 0..2147483647.
			var w uint64
			w, err = uintArg(c, 0, math.MaxInt32)
			sv.Weight = int32(w)
			sv.SetFieldLine("weight", c.line)
		case "lvs_method", "lb_kind":
			meth, err = parseMethod(c)
		case "uthreshold":
			var u uint64
			u, err = uintArg(c, 0, math.MaxInt32)
			sv.UThreshold = uint32(u)
			sv.SetFieldLine("u_threshold", c.line)
		case "lthreshold":
			var l uint64
			l, err = uintArg(c, 0, math.MaxInt32)
			sv.LThreshold = uint32(l)
			sv.SetFieldLine("l_threshold", c.line)
		case "notify_up", "notify_down", "alpha", "smtp_alert":
			im.warn(c.line, "%s is not imported", c.key)
		default:
			im.warn(c.line, "unknown keyword %s in real_server ignored", c.key)
		}
		if err != nil {
			return nil, err
		}
	}
	if meth.set {
		sv.Method = meth.m
		sv.Tunnel = meth.tunnel
		if meth.line != 0 {
			sv.SetFieldLine("method", meth.line)
			sv.SetFieldLine("tunnel", meth.line)
		}
	}
	if ipvs.FamilyOf(a) != svc.Family() && sv.Method != ipvs.FwdTunnel {
		// check_parser.c: rs_end_handler skips it.
		im.warn(r.line, "real_server %s skipped: its address family is not the service's and it is not tunnelled", a)
		return nil, nil
	}
	if sv.Method != ipvs.FwdMasq && svc.FWMark == 0 && port != 0 && port != svc.Addr.Port() {
		im.warn(r.line, "real_server port %d replaced by the service port %d: %s forwarding keeps it", port, svc.Addr.Port(),
			map[ipvs.FwdMethod]string{ipvs.FwdRoute: "DR", ipvs.FwdTunnel: "TUN"}[sv.Method])
		sv.Port = 0
	}
	eff := vsDef.over(def).over(checkDef)
	if check != nil {
		if check.Interval == 0 {
			check.Interval = eff.interval
		}
		if check.DelayBeforeRetry == 0 {
			check.DelayBeforeRetry = eff.delayBeforeRetry
		}
		if check.Warmup == 0 {
			check.Warmup = eff.warmup
		}
		if check.Retries == 0 {
			check.Retries = eff.retries
		}
		if eff.inhibit != nil {
			check.InhibitOnFailure = *eff.inhibit
		}
		if (check.Type == config.CheckHTTP || check.Type == config.CheckHTTPS) && check.VirtualHost == "" {
			check.VirtualHost = eff.virtualhost
		}
		sv.Check = check
	} else if def.inhibit != nil && *def.inhibit {
		im.warn(r.line, "inhibit_on_failure has no effect on a real_server without a checker")
	}
	return sv, nil
}

// checkFields names the config.Check fields of the checker defaults.
var checkFields = map[string]string{
	"delay_loop": "interval", "retry": "retries", "nb_get_retry": "retries",
	"delay_before_retry": "delay_before_retry", "warmup": "warmup",
	"inhibit_on_failure": "inhibit_on_failure", "virtualhost": "virtualhost",
}

var checkTypes = map[string]config.CheckType{
	"TCP_CHECK":  config.CheckTCP,
	"HTTP_GET":   config.CheckHTTP,
	"SSL_GET":    config.CheckHTTPS,
	"MISC_CHECK": config.CheckMisc,
	"DNS_CHECK":  config.CheckDNS,
	"UDP_CHECK":  config.CheckUDP,
}

// checker reads a checker block; the defaults it returns are its own
// delay_loop, retry, ... (which override those of the servers around it).
func (im *importer) checker(s *stmt, t config.CheckType) (*config.Check, defaults, error) {
	c := &config.Check{Type: t, Line: s.line}
	var def defaults
	if len(s.args) > 0 {
		return nil, def, errAt(s.line, "%s takes no value before its block", s.key)
	}
	http := t == config.CheckHTTP || t == config.CheckHTTPS
	for _, k := range s.block {
		if k.key == "url" && http {
			if !k.hasBlock {
				return nil, def, errAt(k.line, "url needs a { block }")
			}
			if err := im.url(k, c); err != nil {
				return nil, def, err
			}
			continue
		}
		if k.hasBlock {
			im.warn(k.line, "unknown block %s in %s ignored", k.key, s.key)
			continue
		}
		if ok, err := defaultsKeyword(k, &def); ok {
			if err != nil {
				return nil, def, err
			}
			if k.key == "virtualhost" && !http {
				im.warn(k.line, "virtualhost in %s ignored", s.key)
			}
			if f, ok := checkFields[k.key]; ok {
				c.SetFieldLine(f, k.line)
			}
			continue
		}
		var err error
		switch {
		case k.key == "connect_ip" && t != config.CheckMisc:
			var s string
			if s, err = oneArg(k); err == nil {
				if c.Address, err = netip.ParseAddr(s); err != nil || c.Address.Zone() != "" {
					err = errAt(k.line, "connect_ip: %q is not an IP address", s)
				}
				c.Address = c.Address.Unmap()
			}
		case k.key == "connect_port" && t != config.CheckMisc:
			var p uint64
			p, err = uintArg(k, 1, math.MaxUint16)
			c.Port = uint16(p)
		case k.key == "connect_timeout" && t != config.CheckMisc:
			c.Timeout, err = timer(k)
			c.SetFieldLine("timeout", k.line)
		case k.key == "misc_path" && t == config.CheckMisc:
			if len(k.args) == 0 {
				err = errAt(k.line, "misc_path needs a command")
			}
			c.Command = strings.Join(k.args, " ")
		case k.key == "misc_timeout" && t == config.CheckMisc:
			var n uint64
			n, err = uintArg(k, 1, math.MaxInt32)
			c.Timeout = time.Duration(n) * time.Second
		case k.key == "misc_dynamic" && t == config.CheckMisc:
			err = noArgs(k)
			c.Dynamic = true
		case k.key == "type" && t == config.CheckDNS:
			var q string
			q, err = oneArg(k)
			c.QueryType = strings.ToUpper(q)
			c.SetFieldLine("query_type", k.line)
		case k.key == "name" && t == config.CheckDNS:
			c.QueryName, err = oneArg(k)
		case k.key == "payload" && t == config.CheckUDP:
			c.Payload = strings.Join(k.args, "")
			c.SetFieldLine("payload", k.line)
		case k.key == "require_reply" && t == config.CheckUDP:
			c.RequireReply = strings.Join(k.args, "")
			c.SetFieldLine("require_reply", k.line)
		case slices.Contains([]string{"bindto", "bind_port", "bind_if", "fwmark", "alpha", "user",
			"http_protocol", "enable_sni", "fast_recovery", "tls_compliant", "min_reply_length",
			"max_reply_length", "source_ip", "dynamic"}, k.key):
			im.warn(k.line, "%s in %s is not imported", k.key, s.key)
		default:
			im.warn(k.line, "unknown keyword %s in %s ignored", k.key, s.key)
		}
		if err != nil {
			return nil, def, err
		}
	}
	if http && def.virtualhost != "" {
		c.VirtualHost = def.virtualhost
		def.virtualhost = ""
	}
	c.Interval, c.DelayBeforeRetry, c.Warmup, c.Retries = def.interval, def.delayBeforeRetry, def.warmup, def.retries
	if t == config.CheckMisc && c.Command == "" {
		return nil, def, errAt(s.line, "MISC_CHECK needs a misc_path")
	}
	if http && len(c.URLs) == 0 {
		return nil, def, errAt(s.line, "%s needs a url block", s.key)
	}
	return c, def, nil
}

func (im *importer) url(s *stmt, c *config.Check) error {
	u := config.URL{}
	for _, k := range s.block {
		if k.hasBlock {
			im.warn(k.line, "unknown block %s in url ignored", k.key)
			continue
		}
		var err error
		switch k.key {
		case "path":
			u.Path, err = oneArg(k)
			c.SetFieldLine(fmt.Sprintf("urls[%d].path", len(c.URLs)), k.line)
		case "digest":
			u.Digest, err = oneArg(k)
			c.SetFieldLine(fmt.Sprintf("urls[%d].digest", len(c.URLs)), k.line)
		case "status_code":
			if len(k.args) == 0 {
				err = errAt(k.line, "status_code needs a code")
			}
			for _, a := range k.args {
				r, ok := config.ParseStatus(a)
				if !ok {
					return errAt(k.line, "status_code: %q is not a status code 100..599 or a range like 200-299", a)
				}
				u.Status = append(u.Status, r)
			}
		case "virtualhost":
			var v string
			if v, err = oneArg(k); err == nil {
				if c.VirtualHost == "" || c.VirtualHost == v {
					c.VirtualHost = v
				} else {
					im.warn(k.line, "virtualhost %s of this url ignored: golvs keeps one per checker", v)
				}
			}
		case "regex", "regex_no_match", "regex_options", "regex_stack", "regex_min_offset", "regex_max_offset", "fast_recovery":
			im.warn(k.line, "%s in url is not imported", k.key)
		default:
			im.warn(k.line, "unknown keyword %s in url ignored", k.key)
		}
		if err != nil {
			return err
		}
	}
	if u.Path == "" {
		return errAt(s.line, "url needs a path")
	}
	c.URLs = append(c.URLs, u)
	return nil
}

// Value readers. Each error names the keyword.

func oneArg(s *stmt) (string, error) {
	if len(s.args) != 1 {
		if len(s.args) == 0 {
			return "", errAt(s.line, "%s needs a value", s.key)
		}
		return "", errAt(s.line, "%s takes one value, not %d", s.key, len(s.args))
	}
	return s.args[0], nil
}

func noArgs(s *stmt) error {
	if len(s.args) != 0 {
		return errAt(s.line, "%s takes no value", s.key)
	}
	return nil
}

func uintArg(s *stmt, min, max uint64) (uint64, error) {
	a, err := oneArg(s)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(a, 10, 64)
	if err != nil {
		if strings.HasPrefix(a, "-") {
			return 0, errAt(s.line, "%s: %s is negative", s.key, a)
		}
		return 0, errAt(s.line, "%s: %q is not an integer", s.key, a)
	}
	if n < min || n > max {
		return 0, errAt(s.line, "%s: %d is out of range %d..%d", s.key, n, min, max)
	}
	return n, nil
}

// timer reads seconds, with decimals as keepalived's read_timer does.
func timer(s *stmt) (time.Duration, error) {
	a, err := oneArg(s)
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(a, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errAt(s.line, "%s: %q is not a number of seconds", s.key, a)
	}
	if f < 0 || f > config.MaxTimeout {
		return 0, errAt(s.line, "%s: %s is out of range 0..%d seconds", s.key, a, config.MaxTimeout)
	}
	return time.Duration(f * float64(time.Second)).Round(time.Microsecond), nil
}

// optBool reads an optional true/false (keepalived: check_true_false).
func optBool(s *stmt) (bool, error) {
	if len(s.args) == 0 {
		return true, nil
	}
	a, err := oneArg(s)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(a) {
	case "true", "on", "yes":
		return true, nil
	case "false", "off", "no":
		return false, nil
	}
	return false, errAt(s.line, "%s: %q is not true or false", s.key, a)
}
