package check

import (
	"encoding/hex"
	"fmt"
	"net/netip"

	"github.com/golvs/golvs/config"
	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/metrics"
)

// FromConfig returns the checked services of a configuration: those with a
// checked server, a sorry server or a quorum above 1. Servers keep their
// configuration order; servers without a check are always alive.
//
// The YAML schema has no alpha, omega, notify or quorum commands: set
// those on the result (Check.Alpha, Service.Omega, Server.NotifyUp, ...).
// config.Check's Retries is keepalived's retry (a server goes down after
// Retries+1 failures in a row), as the keepalived importer fills it. A misc
// check without a timeout gets the interval, as keepalived's misc_timeout.
func FromConfig(c *config.Config) ([]Service, error) {
	var out []Service
	for i := range c.Services {
		cs := &c.Services[i]
		checked := cs.SorryServer.IsValid() || cs.Quorum > 1
		for _, sv := range cs.Servers {
			checked = checked || sv.Check != nil
		}
		if !checked {
			continue
		}
		s, err := FromConfigService(cs)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// FromConfigService converts one service of a configuration.
func FromConfigService(cs *config.Service) (Service, error) {
	s := Service{Key: cs.Key(), Quorum: cs.Quorum, Hysteresis: cs.Hysteresis}
	if cs.SorryServer.IsValid() {
		s.SorryServer = &ipvs.DestConfig{
			Addr: cs.SorryServer.Addr(), Port: cs.SorryServer.Port(), Method: ipvs.FwdMasq, Weight: 1,
		}
	}
	for i := range cs.Servers {
		sv := &cs.Servers[i]
		dc := ipvs.DestConfig{
			Addr: sv.Addr, Port: cs.DestPort(sv), Method: sv.Method, Weight: sv.Weight,
			UThreshold: sv.UThreshold, LThreshold: sv.LThreshold,
		}
		if sv.Tunnel != nil {
			dc.TunType, dc.TunPort, dc.TunFlags = sv.Tunnel.Type, sv.Tunnel.Port, sv.Tunnel.Flags
		}
		out := Server{Dest: dc}
		if sv.Check != nil {
			ch, err := fromConfigCheck(cs, sv, sv.Check)
			if err != nil {
				return Service{}, fmt.Errorf("check: service %s: server %s: %w", metrics.ServiceName(s.Key), netip.AddrPortFrom(dc.Addr, dc.Port), err)
			}
			out.Check = ch
			out.InhibitOnFailure = sv.Check.InhibitOnFailure
		}
		s.Servers = append(s.Servers, out)
	}
	return s, nil
}

func fromConfigCheck(cs *config.Service, sv *config.Server, cc *config.Check) (*Check, error) {
	d := cc.WithDefaults()
	ch := &Check{
		Interval: d.Interval, Timeout: d.Timeout, Retries: d.Retries,
		DelayBeforeRetry: d.DelayBeforeRetry, Warmup: d.Warmup,
	}
	addr := sv.Addr
	if cc.Address.IsValid() {
		addr = cc.Address
	}
	port := cs.DestPort(sv)
	if cc.Port != 0 {
		port = cc.Port
	}
	ap := netip.AddrPortFrom(addr, port)
	switch cc.Type {
	case config.CheckTCP:
		ch.Probe = &TCP{Addr: ap}
	case config.CheckHTTP, config.CheckHTTPS:
		p := &HTTP{Addr: ap, TLS: cc.Type == config.CheckHTTPS, Host: cc.VirtualHost}
		for _, u := range cc.URLs {
			pu := URL{Path: u.Path, Digest: u.Digest}
			for _, r := range u.Status {
				pu.Status = append(pu.Status, StatusRange{Min: r.Min, Max: r.Max})
			}
			p.URLs = append(p.URLs, pu)
		}
		ch.Probe = p
	case config.CheckMisc:
		argv, err := SplitCommand(cc.Command)
		if err != nil {
			return nil, err
		}
		ch.Probe = &Command{Argv: argv, Dynamic: cc.Dynamic}
		if cc.Timeout == 0 {
			ch.Timeout = d.Interval
		}
	case config.CheckUDP:
		payload, err := hex.DecodeString(cc.Payload)
		if err != nil {
			return nil, fmt.Errorf("udp payload: %w", err)
		}
		reply, err := hex.DecodeString(cc.RequireReply)
		if err != nil {
			return nil, fmt.Errorf("udp require_reply: %w", err)
		}
		ch.Probe = &UDP{Addr: ap, Payload: payload, RequireReply: cc.RequireReply != "", Reply: reply}
	case config.CheckDNS:
		t, err := ParseDNSType(d.QueryType)
		if err != nil {
			return nil, err
		}
		ch.Probe = &DNS{Addr: ap, Name: d.QueryName, Type: t}
	default:
		return nil, fmt.Errorf("unknown check type %d", cc.Type)
	}
	return ch, nil
}
