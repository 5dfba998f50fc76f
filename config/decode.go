package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
)

// MaxSize is the largest configuration Load reads, in bytes.
const MaxSize = 16 << 20

// nodeBudget bounds the nodes visited while decoding, so that aliases
// (which may nest) cannot make a small document expand without limit.
const nodeBudget = 1 << 20

// DefaultPersistent is the persistence timeout of `persistent: true`,
// ipvsadm's -p without a value (ipvsadm.c: 6*60; its man page says 300).
const DefaultPersistent = 360

// MaxTimeout is the largest timeout ipvsadm accepts, in seconds (-p, --set).
const MaxTimeout = 2678400

// LoadFile reads and validates the configuration in the file at path.
// Error messages name the file.
func LoadFile(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := Load(f)
	var e *Error
	if errors.As(err, &e) {
		e.File = path
	}
	return c, err
}

// Load reads a YAML configuration and validates it fully (schedulers
// against sched.Names() and "none"): on error it returns a nil *Config and
// an *Error naming the line and the field. Unknown fields are errors.
func Load(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSize {
		return nil, errAt(0, "", "larger than %d bytes", MaxSize)
	}
	c, err := decode(data)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(sched.Names()); err != nil {
		return nil, err
	}
	return c, nil
}

func decode(data []byte) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, errAt(0, "", "empty document (write `services: []` for a configuration without services)")
		}
		return nil, syntaxError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return nil, syntaxError(err)
		}
		return nil, errAt(extra.Line, "", "more than one YAML document")
	}
	d := &decoder{budget: nodeBudget}
	root := &doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root = doc.Content[0]
	}
	c := &Config{}
	if err := d.config(root, c); err != nil {
		return nil, err
	}
	return c, nil
}

// syntaxError turns a YAML parser error ("yaml: line 3: did not find
// expected key") into an *Error.
func syntaxError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				line, msg = n, rest[i+2:]
			}
		}
	}
	return errAt(line, "", "%s", msg)
}

type decoder struct {
	budget int
}

// resolve follows aliases and charges the budget.
func (d *decoder) resolve(n *yaml.Node, path string) (*yaml.Node, error) {
	for i := 0; n.Kind == yaml.AliasNode; i++ {
		if n.Alias == nil || i > 100 {
			return nil, errAt(n.Line, path, "unresolvable alias")
		}
		n = n.Alias
	}
	d.budget--
	if d.budget < 0 {
		return nil, errAt(n.Line, path, "document too large after expanding aliases")
	}
	return n, nil
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe renders a value for an error message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!str" {
			return strconv.Quote(n.Value)
		}
		if isNull(n) {
			return "empty"
		}
		return n.Value
	}
	return "a " + fmt.Sprint(n.Kind)
}

// mapping calls f for each key of a mapping node, in order. An empty value
// (null) is an empty mapping.
func (d *decoder) mapping(n *yaml.Node, path string, f func(key string, k, v *yaml.Node, p string) error) error {
	n, err := d.resolve(n, path)
	if err != nil {
		return err
	}
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return errAt(n.Line, path, "must be a mapping, not %s", describe(n))
	}
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := d.resolve(n.Content[i], path)
		if err != nil {
			return err
		}
		if k.Kind != yaml.ScalarNode || isNull(k) {
			return errAt(k.Line, path, "a key must be a plain name, not %s", describe(k))
		}
		if k.ShortTag() == "!!merge" {
			return errAt(k.Line, path, "merge keys (<<) are not supported")
		}
		p := join(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			return errAt(k.Line, p, "given twice (first on line %d)", first)
		}
		seen[k.Value] = k.Line
		if err := f(k.Value, k, n.Content[i+1], p); err != nil {
			return err
		}
	}
	return nil
}

// sequence calls f for each item of a sequence node. An empty value (null)
// is an empty list.
func (d *decoder) sequence(n *yaml.Node, path string, f func(i int, v *yaml.Node, p string) error) error {
	n, err := d.resolve(n, path)
	if err != nil {
		return err
	}
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		return errAt(n.Line, path, "must be a list, not %s", describe(n))
	}
	for i, v := range n.Content {
		if err := f(i, v, index(path, i)); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) scalar(n *yaml.Node, path string) (*yaml.Node, error) {
	n, err := d.resolve(n, path)
	if err != nil {
		return nil, err
	}
	if n.Kind != yaml.ScalarNode {
		return nil, errAt(n.Line, path, "must be a single value, not %s", describe(n))
	}
	return n, nil
}

func (d *decoder) str(n *yaml.Node, path string) (string, int, error) {
	n, err := d.scalar(n, path)
	if err != nil {
		return "", 0, err
	}
	if isNull(n) || n.Value == "" {
		return "", n.Line, errAt(n.Line, path, "is empty")
	}
	if n.ShortTag() != "!!str" {
		return "", n.Line, errAt(n.Line, path, "%s is not a string", describe(n))
	}
	return n.Value, n.Line, nil
}

// integer reads an integer in min..max.
func (d *decoder) integer(n *yaml.Node, path string, min, max int64) (int64, int, error) {
	n, err := d.scalar(n, path)
	if err != nil {
		return 0, 0, err
	}
	if n.ShortTag() != "!!int" {
		return 0, n.Line, errAt(n.Line, path, "%s is not an integer", describe(n))
	}
	var v int64
	if err := n.Decode(&v); err != nil {
		return 0, n.Line, errAt(n.Line, path, "%s is out of range %d..%d", n.Value, min, max)
	}
	if v < min || v > max {
		if v < 0 && min == 0 {
			return 0, n.Line, errAt(n.Line, path, "%d is negative", v)
		}
		return 0, n.Line, errAt(n.Line, path, "%d is out of range %d..%d", v, min, max)
	}
	return v, n.Line, nil
}

func (d *decoder) boolean(n *yaml.Node, path string) (bool, int, error) {
	n, err := d.scalar(n, path)
	if err != nil {
		return false, 0, err
	}
	if n.ShortTag() != "!!bool" {
		return false, n.Line, errAt(n.Line, path, "%s is not true or false", describe(n))
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		return false, n.Line, errAt(n.Line, path, "%s is not true or false", describe(n))
	}
	return b, n.Line, nil
}

// duration reads a Go duration ("1m30s") or a number of seconds.
func (d *decoder) duration(n *yaml.Node, path string) (time.Duration, int, error) {
	n, err := d.scalar(n, path)
	if err != nil {
		return 0, 0, err
	}
	var v time.Duration
	switch n.ShortTag() {
	case "!!int", "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsNaN(f) || math.Abs(f) > math.MaxInt64/float64(time.Second) {
			return 0, n.Line, errAt(n.Line, path, "%s is not a duration", describe(n))
		}
		v = time.Duration(f * float64(time.Second))
	case "!!str":
		v, err = time.ParseDuration(n.Value)
		if err != nil {
			return 0, n.Line, errAt(n.Line, path, "%s is not a duration (like 5s, 1m30s, or seconds)", describe(n))
		}
	default:
		return 0, n.Line, errAt(n.Line, path, "%s is not a duration", describe(n))
	}
	if v < 0 {
		return 0, n.Line, errAt(n.Line, path, "%s is negative", n.Value)
	}
	return v, n.Line, nil
}

// enum reads one of names and returns its index.
func (d *decoder) enum(n *yaml.Node, path string, names []string) (int, int, error) {
	s, line, err := d.str(n, path)
	if err != nil {
		return 0, line, err
	}
	if i := indexOf(names, s); i >= 0 {
		return i, line, nil
	}
	var known []string
	for _, n := range names {
		if n != "" {
			known = append(known, n)
		}
	}
	return 0, line, errAt(line, path, "%q is not one of %s", s, strings.Join(known, ", "))
}

func unknown(k *yaml.Node, p string) error { return errAt(k.Line, p, "unknown field") }

var logLevels = []string{"debug", "info", "warn", "error"}

func (d *decoder) config(root *yaml.Node, c *Config) error {
	return d.mapping(root, "", func(key string, k, v *yaml.Node, p string) error {
		c.lines.set(key, k.Line)
		var err error
		switch key {
		case "control":
			err = d.control(v, p, &c.Control)
		case "log_level":
			_, _, err = d.enum(v, p, logLevels)
			if err == nil {
				c.LogLevel = v.Value
			}
		case "sysctl":
			c.Sysctl = make(map[string]string)
			err = d.mapping(v, p, func(name string, k, v *yaml.Node, p string) error {
				c.lines.set(p, k.Line)
				n, err := d.scalar(v, p)
				if err != nil {
					return err
				}
				switch n.ShortTag() {
				case "!!int", "!!str":
					c.Sysctl[name] = n.Value
				case "!!bool":
					b, _, _ := d.boolean(n, p)
					c.Sysctl[name] = map[bool]string{false: "0", true: "1"}[b]
				default:
					return errAt(n.Line, p, "%s is not a number", describe(n))
				}
				return nil
			})
		case "timeouts":
			err = d.mapping(v, p, func(key string, k, v *yaml.Node, p string) error {
				var t *time.Duration
				switch key {
				case "tcp":
					t = &c.Timeouts.TCP
				case "tcpfin":
					t = &c.Timeouts.TCPFin
				case "udp":
					t = &c.Timeouts.UDP
				default:
					return unknown(k, p)
				}
				c.lines.set(p, k.Line)
				var err error
				*t, _, err = d.duration(v, p)
				return err
			})
		case "max_conns":
			var n int64
			n, _, err = d.integer(v, p, 0, math.MaxInt32)
			c.MaxConns = int(n)
		case "services":
			err = d.sequence(v, p, func(i int, v *yaml.Node, p string) error {
				var s Service
				if err := d.service(v, p, &s); err != nil {
					return err
				}
				c.Services = append(c.Services, s)
				return nil
			})
		default:
			return unknown(k, p)
		}
		return err
	})
}

func (d *decoder) control(n *yaml.Node, path string, c *Control) error {
	return d.mapping(n, path, func(key string, k, v *yaml.Node, p string) error {
		var err error
		switch key {
		case "socket":
			c.Socket, _, err = d.str(v, p)
		case "listen":
			var s string
			var line int
			if s, line, err = d.str(v, p); err == nil {
				if c.Listen, err = netip.ParseAddrPort(s); err != nil {
					err = errAt(line, p, "%q is not an ip:port address", s)
				}
			}
		case "token_file":
			c.TokenFile, _, err = d.str(v, p)
		default:
			return unknown(k, p)
		}
		return err
	})
}

var protoKeys = map[string]uint8{"tcp": ipvs.ProtoTCP, "udp": ipvs.ProtoUDP, "sctp": ipvs.ProtoSCTP}

func (d *decoder) service(n *yaml.Node, path string, s *Service) error {
	n, err := d.resolve(n, path)
	if err != nil {
		return err
	}
	s.Line = n.Line
	var netmask *yaml.Node
	keyField := ""
	err = d.mapping(n, path, func(key string, k, v *yaml.Node, p string) error {
		s.lines.set(key, k.Line)
		var err error
		switch key {
		case "tcp", "udp", "sctp", "fwmark":
			if keyField != "" {
				return errAt(k.Line, p, "conflicts with %s (a service has exactly one of tcp, udp, sctp, fwmark)", keyField)
			}
			keyField = key
			if key == "fwmark" {
				var m int64
				m, _, err = d.integer(v, p, 1, math.MaxUint32)
				s.FWMark = uint32(m)
				break
			}
			s.Protocol = protoKeys[key]
			var a string
			var line int
			if a, line, err = d.str(v, p); err == nil {
				s.Addr, err = parseVirtual(a, line, p)
			}
		case "ipv6":
			s.IPv6, _, err = d.boolean(v, p)
		case "scheduler":
			s.Scheduler, _, err = d.str(v, p)
		case "persistent":
			var sc *yaml.Node
			if sc, err = d.scalar(v, p); err != nil {
				return err
			}
			if sc.ShortTag() == "!!bool" {
				var b bool
				b, _, err = d.boolean(sc, p)
				if b {
					s.Persistent = DefaultPersistent
				}
				break
			}
			var t int64
			t, _, err = d.integer(sc, p, 1, MaxTimeout)
			s.Persistent = uint32(t)
		case "netmask":
			netmask, err = d.scalar(v, p)
		case "ops":
			s.OPS, _, err = d.boolean(v, p)
		case "sched_flags":
			err = d.sequence(v, p, func(i int, v *yaml.Node, p string) error {
				f, line, err := d.str(v, p)
				s.lines.set(p[len(path)+1:], line)
				s.SchedFlags = append(s.SchedFlags, f)
				return err
			})
		case "pe":
			s.PE, _, err = d.str(v, p)
		case "sorry_server":
			var a string
			var line int
			if a, line, err = d.str(v, p); err == nil {
				var sa netip.Addr
				var port uint16
				if sa, port, err = parseReal(a, line, p); err == nil {
					s.SorryServer = netip.AddrPortFrom(sa, port)
				}
			}
		case "quorum":
			var q int64
			q, _, err = d.integer(v, p, 0, math.MaxUint32)
			s.Quorum = uint32(q)
		case "hysteresis":
			var h int64
			h, _, err = d.integer(v, p, 0, math.MaxUint32)
			s.Hysteresis = uint32(h)
		case "mode":
			var m int
			m, _, err = d.enum(v, p, modeNames)
			s.Mode = Mode(m)
		case "proxy_protocol":
			var m int
			m, _, err = d.enum(v, p, proxyNames)
			s.ProxyProtocol = ProxyProtocol(m)
		case "servers":
			err = d.sequence(v, p, func(i int, v *yaml.Node, p string) error {
				var sv Server
				err := d.server(v, p, &sv)
				s.Servers = append(s.Servers, sv)
				return err
			})
		default:
			return unknown(k, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	if keyField == "" {
		return errAt(s.Line, path, "needs one of tcp, udp, sctp, fwmark")
	}
	if s.Scheduler == "" {
		s.Scheduler = "wlc"
	}
	if netmask != nil {
		if err := s.parseNetmask(netmask, join(path, "netmask")); err != nil {
			return err
		}
	}
	return nil
}

// parseNetmask reads a dotted IPv4 mask or an IPv6 prefix length, as the
// service's family needs (ipvsadm -M).
func (s *Service) parseNetmask(n *yaml.Node, path string) error {
	if s.Family() == ipvs.AFInet6 {
		if n.ShortTag() != "!!int" {
			return errAt(n.Line, path, "%s is not a prefix length (an IPv6 service takes 1..128)", describe(n))
		}
		v, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil || v < 1 || v > 128 {
			return errAt(n.Line, path, "%s is out of range 1..128", n.Value)
		}
		s.Netmask, s.NetmaskSet = uint32(v), true
		return nil
	}
	a, err := netip.ParseAddr(n.Value)
	if n.ShortTag() != "!!str" || err != nil || !a.Is4() {
		return errAt(n.Line, path, "%s is not a dotted IPv4 mask", describe(n))
	}
	b := a.As4()
	s.Netmask = uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	s.NetmaskSet = true
	return nil
}

// parseVirtual reads a virtual service's "addr:port" ("[v6]:port").
func parseVirtual(s string, line int, path string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		if _, err2 := netip.ParseAddr(s); err2 == nil {
			return ap, errAt(line, path, "%q needs a port (addr:port, [addr]:port for IPv6)", s)
		}
		return ap, errAt(line, path, "%q is not an addr:port", s)
	}
	if ap.Addr().Zone() != "" {
		return ap, errAt(line, path, "%q: zones are not allowed", s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// parseReal reads a real server's "addr", "addr:port", "v6" or "[v6]:port".
func parseReal(s string, line int, path string) (netip.Addr, uint16, error) {
	var a netip.Addr
	var port uint16
	if ap, err := netip.ParseAddrPort(s); err == nil {
		a, port = ap.Addr(), ap.Port()
	} else if a, err = netip.ParseAddr(s); err != nil {
		return a, 0, errAt(line, path, "%q is not an address or addr:port", s)
	}
	if a.Zone() != "" {
		return a, 0, errAt(line, path, "%q: zones are not allowed", s)
	}
	return a.Unmap(), port, nil
}

var methodNames = map[string]ipvs.FwdMethod{"masq": ipvs.FwdMasq, "route": ipvs.FwdRoute, "tunnel": ipvs.FwdTunnel}

// methodName returns a forwarding method's configuration name.
func methodName(m ipvs.FwdMethod) string {
	for n, v := range methodNames {
		if v == m {
			return n
		}
	}
	return strings.ToLower(m.String())
}

var (
	tunTypeNames = []string{"ipip", "gue", "gre"}
	tunCsumNames = []string{"nocsum", "csum", "remcsum"}
)

// server decodes one real server; an omitted weight is 1.
func (d *decoder) server(n *yaml.Node, path string, sv *Server) error {
	n, err := d.resolve(n, path)
	if err != nil {
		return err
	}
	sv.Line = n.Line
	sv.Weight = 1
	haveAddr := false
	err = d.mapping(n, path, func(key string, k, v *yaml.Node, p string) error {
		sv.lines.set(key, k.Line)
		var err error
		switch key {
		case "address":
			haveAddr = true
			var a string
			var line int
			if a, line, err = d.str(v, p); err == nil {
				sv.Addr, sv.Port, err = parseReal(a, line, p)
			}
		case "weight":
			var w int64
			w, _, err = d.integer(v, p, 0, math.MaxInt32)
			sv.Weight = int32(w)
		case "method":
			var s string
			var line int
			if s, line, err = d.str(v, p); err == nil {
				m, ok := methodNames[s]
				if !ok {
					return errAt(line, p, "%q is not one of masq, route, tunnel", s)
				}
				sv.Method = m
			}
		case "tunnel":
			sv.Tunnel = &Tunnel{}
			err = d.mapping(v, p, func(key string, k, v *yaml.Node, p string) error {
				sv.lines.set("tunnel."+key, k.Line)
				var err error
				var i int
				switch key {
				case "type":
					i, _, err = d.enum(v, p, tunTypeNames)
					sv.Tunnel.Type = uint8(i)
				case "port":
					var port int64
					port, _, err = d.integer(v, p, 1, math.MaxUint16)
					sv.Tunnel.Port = uint16(port)
				case "csum":
					i, _, err = d.enum(v, p, tunCsumNames)
					sv.Tunnel.Flags = uint16(i)
				default:
					return unknown(k, p)
				}
				return err
			})
		case "u_threshold":
			var t int64
			t, _, err = d.integer(v, p, 0, math.MaxInt32)
			sv.UThreshold = uint32(t)
		case "l_threshold":
			var t int64
			t, _, err = d.integer(v, p, 0, math.MaxInt32)
			sv.LThreshold = uint32(t)
		case "check":
			sv.Check = &Check{}
			err = d.check(v, p, sv.Check)
		default:
			return unknown(k, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	if !haveAddr {
		return errAt(sv.Line, path, "needs an address")
	}
	return nil
}

func (d *decoder) check(n *yaml.Node, path string, c *Check) error {
	n, err := d.resolve(n, path)
	if err != nil {
		return err
	}
	c.Line = n.Line
	err = d.mapping(n, path, func(key string, k, v *yaml.Node, p string) error {
		c.lines.set(key, k.Line)
		var err error
		switch key {
		case "type":
			var t int
			t, _, err = d.enum(v, p, checkNames)
			c.Type = CheckType(t)
		case "interval":
			c.Interval, _, err = d.duration(v, p)
		case "timeout":
			c.Timeout, _, err = d.duration(v, p)
		case "retries":
			var r int64
			r, _, err = d.integer(v, p, 0, math.MaxInt32)
			c.Retries = int(r)
		case "delay_before_retry":
			c.DelayBeforeRetry, _, err = d.duration(v, p)
		case "warmup":
			c.Warmup, _, err = d.duration(v, p)
		case "inhibit_on_failure":
			c.InhibitOnFailure, _, err = d.boolean(v, p)
		case "address":
			var s string
			var line int
			if s, line, err = d.str(v, p); err == nil {
				if c.Address, err = netip.ParseAddr(s); err != nil || c.Address.Zone() != "" {
					return errAt(line, p, "%q is not an IP address", s)
				}
				c.Address = c.Address.Unmap()
			}
		case "port":
			var port int64
			port, _, err = d.integer(v, p, 1, math.MaxUint16)
			c.Port = uint16(port)
		case "urls":
			err = d.sequence(v, p, func(i int, v *yaml.Node, p string) error {
				var u URL
				err := d.url(v, p, &u, &c.lines, index("urls", i))
				c.URLs = append(c.URLs, u)
				return err
			})
		case "virtualhost":
			c.VirtualHost, _, err = d.str(v, p)
		case "command":
			c.Command, _, err = d.str(v, p)
		case "dynamic":
			c.Dynamic, _, err = d.boolean(v, p)
		case "query_name":
			c.QueryName, _, err = d.str(v, p)
		case "query_type":
			c.QueryType, _, err = d.str(v, p)
		case "payload":
			c.Payload, _, err = d.str(v, p)
		case "require_reply":
			c.RequireReply, _, err = d.str(v, p)
		default:
			return unknown(k, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	if c.Type == 0 {
		return errAt(c.Line, path, "needs a type (%s)", strings.Join(checkNames[1:], ", "))
	}
	return nil
}

func (d *decoder) url(n *yaml.Node, path string, u *URL, ls *lines, rel string) error {
	n, err := d.resolve(n, path)
	if err != nil {
		return err
	}
	ls.set(rel, n.Line)
	havePath := false
	err = d.mapping(n, path, func(key string, k, v *yaml.Node, p string) error {
		ls.set(join(rel, key), k.Line)
		var err error
		switch key {
		case "path":
			havePath = true
			var line int
			if u.Path, line, err = d.str(v, p); err == nil && !strings.HasPrefix(u.Path, "/") {
				err = errAt(line, p, "%q does not start with /", u.Path)
			}
		case "status":
			// One code or range, or a list of them.
			if sc, serr := d.resolve(v, p); serr == nil && sc.Kind == yaml.ScalarNode {
				var r StatusRange
				r, err = d.status(sc, p)
				u.Status = append(u.Status, r)
				break
			}
			err = d.sequence(v, p, func(i int, v *yaml.Node, p string) error {
				r, err := d.status(v, p)
				u.Status = append(u.Status, r)
				return err
			})
		case "digest":
			var line int
			if u.Digest, line, err = d.str(v, p); err == nil {
				err = checkDigest(u.Digest, line, p)
			}
		default:
			return unknown(k, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	if !havePath {
		return errAt(n.Line, path, "needs a path")
	}
	return nil
}

// status reads 200 or "200-299".
func (d *decoder) status(n *yaml.Node, path string) (StatusRange, error) {
	n, err := d.scalar(n, path)
	if err != nil {
		return StatusRange{}, err
	}
	r, ok := ParseStatus(n.Value)
	if !ok || (n.ShortTag() != "!!int" && n.ShortTag() != "!!str") {
		return r, errAt(n.Line, path, "%s is not a status code 100..599 or a range like 200-299", describe(n))
	}
	return r, nil
}

// ParseStatus parses an HTTP status code ("200") or range ("200-299").
func ParseStatus(s string) (StatusRange, bool) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := strconv.Atoi(lo)
	if err != nil || a < 100 || a > 599 {
		return StatusRange{}, false
	}
	b := a
	if isRange {
		if b, err = strconv.Atoi(hi); err != nil || b < a || b > 599 {
			return StatusRange{}, false
		}
	}
	return StatusRange{a, b}, true
}

func checkDigest(s string, line int, path string) error {
	if len(s) != 32 || !isHex(s) {
		return errAt(line, path, "%q is not an MD5 digest (32 hex digits)", s)
	}
	return nil
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
