package config

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/golvs/golvs/ipvs"
)

// Marshal returns c as YAML in the schema Load reads, with defaults
// written out (scheduler, weight, method): Load(Marshal(c)) equals c for a
// valid c, apart from the source lines.
func (c *Config) Marshal() ([]byte, error) {
	root := mapping()
	if ct := c.Control; ct.Socket != "" || ct.Listen.IsValid() || ct.TokenFile != "" {
		m := mapping()
		if ct.Socket != "" {
			m.add("socket", str(ct.Socket))
		}
		if ct.Listen.IsValid() {
			m.add("listen", str(ct.Listen.String()))
		}
		if ct.TokenFile != "" {
			m.add("token_file", str(ct.TokenFile))
		}
		root.add("control", m.Node)
	}
	if c.LogLevel != "" {
		root.add("log_level", str(c.LogLevel))
	}
	if len(c.Sysctl) > 0 {
		m := mapping()
		names := make([]string, 0, len(c.Sysctl))
		for n := range c.Sysctl {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			v := c.Sysctl[n]
			if _, err := strconv.ParseInt(v, 10, 64); err == nil {
				m.add(n, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: v})
			} else {
				m.add(n, str(v))
			}
		}
		root.add("sysctl", m.Node)
	}
	if t := c.Timeouts; t != (Timeouts{}) {
		m := mapping()
		for _, x := range []struct {
			name string
			d    time.Duration
		}{{"tcp", t.TCP}, {"tcpfin", t.TCPFin}, {"udp", t.UDP}} {
			if x.d != 0 {
				m.add(x.name, str(fmtDuration(x.d)))
			}
		}
		root.add("timeouts", m.Node)
	}
	if c.MaxConns != 0 {
		root.add("max_conns", integer(int64(c.MaxConns)))
	}
	svcs := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for i := range c.Services {
		svcs.Content = append(svcs.Content, c.Services[i].node())
	}
	root.add("services", svcs)

	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root.Node); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (s *Service) node() *yaml.Node {
	m := mapping()
	if s.FWMark != 0 {
		m.add("fwmark", integer(int64(s.FWMark)))
		if s.IPv6 {
			m.add("ipv6", boolean(true))
		}
	} else {
		m.add(s.keyField(), str(s.Addr.String()))
	}
	m.add("scheduler", str(s.Scheduler))
	if len(s.SchedFlags) > 0 {
		l := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for _, f := range s.SchedFlags {
			l.Content = append(l.Content, str(f))
		}
		m.add("sched_flags", l)
	}
	if s.Persistent != 0 {
		m.add("persistent", integer(int64(s.Persistent)))
	}
	if s.NetmaskSet {
		if s.Family() == ipvs.AFInet6 {
			m.add("netmask", integer(int64(s.Netmask)))
		} else {
			n := s.Netmask
			m.add("netmask", str(netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}).String()))
		}
	}
	if s.OPS {
		m.add("ops", boolean(true))
	}
	if s.PE != "" {
		m.add("pe", str(s.PE))
	}
	if s.Mode != ModeFullNAT {
		m.add("mode", str(s.Mode.String()))
	}
	if s.ProxyProtocol != ProxyNone {
		m.add("proxy_protocol", str(s.ProxyProtocol.String()))
	}
	if s.SorryServer.IsValid() {
		m.add("sorry_server", str(addrPort(s.SorryServer.Addr(), s.SorryServer.Port())))
	}
	if s.Quorum != 0 {
		m.add("quorum", integer(int64(s.Quorum)))
	}
	if s.Hysteresis != 0 {
		m.add("hysteresis", integer(int64(s.Hysteresis)))
	}
	l := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for i := range s.Servers {
		l.Content = append(l.Content, s.Servers[i].node())
	}
	m.add("servers", l)
	return m.Node
}

// addrPort writes a real server address: "a" or "a:p" ("[v6]:p").
func addrPort(a netip.Addr, port uint16) string {
	if port == 0 {
		return a.String()
	}
	return netip.AddrPortFrom(a, port).String()
}

func (sv *Server) node() *yaml.Node {
	m := mapping()
	m.add("address", str(addrPort(sv.Addr, sv.Port)))
	m.add("weight", integer(int64(sv.Weight)))
	m.add("method", str(methodName(sv.Method)))
	if t := sv.Tunnel; t != nil {
		tm := mapping()
		tm.add("type", str(nameOf(tunTypeNames, int(t.Type))))
		if t.Port != 0 {
			tm.add("port", integer(int64(t.Port)))
		}
		if t.Flags != 0 {
			tm.add("csum", str(nameOf(tunCsumNames, int(t.Flags))))
		}
		m.add("tunnel", tm.Node)
	}
	if sv.UThreshold != 0 {
		m.add("u_threshold", integer(int64(sv.UThreshold)))
	}
	if sv.LThreshold != 0 {
		m.add("l_threshold", integer(int64(sv.LThreshold)))
	}
	if sv.Check != nil {
		m.add("check", sv.Check.node())
	}
	return m.Node
}

func (c *Check) node() *yaml.Node {
	m := mapping()
	m.add("type", str(c.Type.String()))
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"interval", c.Interval}, {"timeout", c.Timeout}} {
		if d.v != 0 {
			m.add(d.name, str(fmtDuration(d.v)))
		}
	}
	if c.Retries != 0 {
		m.add("retries", integer(int64(c.Retries)))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"delay_before_retry", c.DelayBeforeRetry}, {"warmup", c.Warmup}} {
		if d.v != 0 {
			m.add(d.name, str(fmtDuration(d.v)))
		}
	}
	if c.InhibitOnFailure {
		m.add("inhibit_on_failure", boolean(true))
	}
	if c.Address.IsValid() {
		m.add("address", str(c.Address.String()))
	}
	if c.Port != 0 {
		m.add("port", integer(int64(c.Port)))
	}
	if len(c.URLs) > 0 {
		l := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, u := range c.URLs {
			um := mapping()
			um.add("path", str(u.Path))
			if len(u.Status) > 0 {
				sl := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
				for _, r := range u.Status {
					if r.Min == r.Max {
						sl.Content = append(sl.Content, integer(int64(r.Min)))
					} else {
						sl.Content = append(sl.Content, str(fmt.Sprintf("%d-%d", r.Min, r.Max)))
					}
				}
				um.add("status", sl)
			}
			if u.Digest != "" {
				um.add("digest", str(u.Digest))
			}
			l.Content = append(l.Content, um.Node)
		}
		m.add("urls", l)
	}
	for _, f := range []struct{ name, v string }{
		{"virtualhost", c.VirtualHost}, {"command", c.Command},
	} {
		if f.v != "" {
			m.add(f.name, str(f.v))
		}
	}
	if c.Dynamic {
		m.add("dynamic", boolean(true))
	}
	for _, f := range []struct{ name, v string }{
		{"query_name", c.QueryName}, {"query_type", c.QueryType},
		{"payload", c.Payload}, {"require_reply", c.RequireReply},
	} {
		if f.v != "" {
			m.add(f.name, str(f.v))
		}
	}
	return m.Node
}

// fmtDuration writes a duration as Go does, without zero minutes and
// seconds: "15m", "1h", "1m30s", "1.5s".
func fmtDuration(d time.Duration) string {
	s := d.String()
	if d == 0 {
		return s
	}
	if d%time.Minute == 0 {
		s = strings.TrimSuffix(s, "0s")
	}
	if d%time.Hour == 0 {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

type mapNode struct{ *yaml.Node }

func mapping() mapNode { return mapNode{&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}} }

func (m mapNode) add(key string, v *yaml.Node) {
	m.Content = append(m.Content, str(key), v)
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func integer(i int64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(i, 10)}
}

func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}
