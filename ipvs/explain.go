package ipvs

import (
	"fmt"
	"net/netip"
	"time"
)

// Reason says why a packet got its verdict. Every reason names the kernel
// function whose rule produced it (see [Reason.KernelFunc]).
type Reason uint8

// Reasons.
const (
	ReasonNone Reason = iota
	ReasonExisting
	ReasonScheduled
	ReasonTemplateHit
	ReasonTemplateAbsent
	ReasonTemplateDestGone
	ReasonTemplateQuiescent
	ReasonRescheduled
	ReasonNoService
	ReasonNotSyn
	ReasonNotIPVS
	ReasonNoDest
	ReasonFTPData
	ReasonFTPPass
	ReasonDestUnavailable
	ReasonPEDrop
	ReasonBypass
	ReasonTableFull
	ReasonNoConn
	ReasonDefenseDrop
)

var reasonText = [...]struct{ name, fn string }{
	ReasonNone:              {"none", ""},
	ReasonExisting:          {"existing connection", "ip_vs_conn_in_get"},
	ReasonScheduled:         {"scheduled", "ip_vs_schedule"},
	ReasonTemplateHit:       {"template hit", "ip_vs_sched_persist"},
	ReasonTemplateAbsent:    {"template absent", "ip_vs_ct_in_get"},
	ReasonTemplateDestGone:  {"template's real server unavailable", "ip_vs_check_template"},
	ReasonTemplateQuiescent: {"template's real server quiescent (weight 0, expire_quiescent_template=1)", "ip_vs_check_template"},
	ReasonRescheduled:       {"rescheduled", "ip_vs_in_hook"},
	ReasonNoService:         {"no virtual service", "ip_vs_service_find"},
	ReasonNotSyn:            {"not a connection start", "tcp_conn_schedule"},
	ReasonNotIPVS:           {"protocol not handled", "ip_vs_in_hook"},
	ReasonNoDest:            {"no destination available", "ip_vs_leave"},
	ReasonFTPData:           {"FTP data source port 20", "ip_vs_schedule"},
	ReasonFTPPass:           {"FTP service pass-through", "ip_vs_leave"},
	ReasonDestUnavailable:   {"connection's real server deleted", "ip_vs_in_hook"},
	ReasonPEDrop:            {"persistence engine could not key the packet", "ip_vs_sip_fill_param"},
	ReasonBypass:            {"cache bypass", "ip_vs_leave"},
	ReasonTableFull:         {"connection table full", "ip_vs_conn_new"},
	ReasonNoConn:            {"no connection", "ip_vs_out_hook"},
	ReasonDefenseDrop:       {"dropped by the drop_packet defense", "ip_vs_todrop"},
}

func (r Reason) String() string {
	if int(r) < len(reasonText) {
		return reasonText[r].name
	}
	return "?"
}

// KernelFunc returns the kernel function whose rule the reason mirrors.
func (r Reason) KernelFunc() string {
	if int(r) < len(reasonText) {
		return reasonText[r].fn
	}
	return ""
}

// Step is one rule applied while deciding, for [Explanation].
type Step struct {
	Reason Reason
	// Func is the kernel function that holds the rule.
	Func string
	Text string
}

// TemplateKey is a persistence template's key as Explain reports it.
type TemplateKey struct {
	Kind     TemplateKind
	Protocol uint8
	// Client is the client address after the persistence netmask.
	Client netip.Addr
	// Virtual is the virtual address, or the mark as an address for fwmark
	// templates (mark 3 is 0.0.0.3).
	Virtual netip.Addr
	VPort   uint16
	PEData  string
}

// String renders the key as the kernel documents it: <proto, caddr, 0, vaddr, vport>.
func (k TemplateKey) String() string {
	s := fmt.Sprintf("<%s, %s, 0, %s, %d", ProtoName(k.Protocol), k.Client, k.Virtual, k.VPort)
	if k.PEData != "" {
		s += ", callid " + k.PEData
	}
	return s + ">"
}

// Explanation is what the director would do with a packet, and why,
// computed without changing any state.
type Explanation struct {
	Packet  Packet
	Verdict Verdict
	Outcome Reason
	Steps   []Step

	// Service is set when a virtual service matched.
	Service *ServiceKey
	// Existing is set when the packet belongs to an existing connection.
	Existing *ConnInfo

	Persistent bool
	Template   *TemplateKey
	// TemplateFound is set when a template with the key exists; its real
	// server and time left follow.
	TemplateFound   bool
	TemplateDest    netip.AddrPort
	TemplateExpires time.Duration
	TemplateVerdict Reason

	Scheduler string
	// Scheduled is the real server the scheduler would pick (invalid when
	// none, or when the scheduler cannot preview).
	Scheduled          netip.AddrPort
	SchedulerNoPreview bool

	// Conn is the connection that would be created: client, virtual and
	// real server addresses.
	ConnClient, ConnVirtual, ConnDest netip.AddrPort
}

// Explain tells what Process would do with p at now, and why, without
// changing anything: the template key looked up, whether it hit and why
// not, the scheduler's choice and the resulting connection key.
func (d *Director) Explain(p Packet, now Time) *Explanation {
	ex := &Explanation{Packet: p}
	t := packetTuple(&p)
	d.mu.RLock()
	r := d.in(&p, &t, now, ex)
	d.mu.RUnlock()
	ex.Verdict = r.Verdict
	if ex.Outcome == ReasonNone {
		ex.Outcome = r.Reason
	}
	if r.Verdict != VerdictForward && ex.Outcome != r.Reason && r.Reason != ReasonNone {
		ex.Outcome = r.Reason
	}
	return ex
}

func (ex *Explanation) step(r Reason, fn, format string, args ...any) {
	if ex == nil {
		return
	}
	ex.Steps = append(ex.Steps, Step{Reason: r, Func: fn, Text: fmt.Sprintf(format, args...)})
	ex.Outcome = r
}

func (ex *Explanation) service(s *Service) {
	if ex == nil {
		return
	}
	k := s.key
	ex.Service = &k
	ex.Persistent = s.persistent()
	if s.sched != nil {
		ex.Scheduler = s.sched.Name()
	}
	what := fmt.Sprintf("%s %s:%d", ProtoName(k.Protocol), k.Addr, k.Port)
	if k.FWMark != 0 {
		what = fmt.Sprintf("fwmark %d", k.FWMark)
	}
	ex.step(ReasonScheduled, "ip_vs_service_find", "virtual service %s (scheduler %s, persistent %v)", what, ex.Scheduler, ex.Persistent)
}

func (ex *Explanation) existing(c *Conn, now Time) {
	if ex == nil {
		return
	}
	ci := c.info(now)
	ex.Existing = &ci
	ex.ConnClient, ex.ConnVirtual, ex.ConnDest = ci.Client, ci.Virtual, ci.Dest
	ex.step(ReasonExisting, "ip_vs_conn_in_get", "existing connection %s -> %s -> %s in %s, %s left", ci.Client, ci.Virtual, ci.Dest, ci.State, ci.Expires.Truncate(time.Second))
}

func (ex *Explanation) templateKey(k *templateKey) {
	if ex == nil {
		return
	}
	tk := TemplateKey{Kind: k.kind, Protocol: k.protocol, Client: k.snet.unpack(k.af), VPort: k.vport}
	if k.protocol == ProtoIP {
		tk.Virtual = netip.AddrFrom4([4]byte(k.vaddr[:4]))
	} else {
		tk.Virtual = k.vaddr.unpack(k.af)
	}
	if k.pe != nil {
		tk.PEData = k.pe.data
	}
	ex.Template = &tk
	ex.step(ReasonTemplateAbsent, "ip_vs_sched_persist", "%s template key %s", k.kind, tk)
}

func (ex *Explanation) template(ct *Conn, r Reason, now Time) {
	if ex == nil {
		return
	}
	ex.TemplateVerdict = r
	if ct == nil {
		ex.step(ReasonTemplateAbsent, "ip_vs_ct_in_get", "no template with this key: the scheduler chooses")
		return
	}
	ci := ct.info(now)
	ex.TemplateFound = true
	ex.TemplateDest = ci.Dest
	ex.TemplateExpires = ci.Expires
	switch r {
	case ReasonTemplateHit:
		ex.step(r, "ip_vs_check_template", "template found, real server %s, %s left: reused, the scheduler is not called", ci.Dest, ci.Expires.Truncate(time.Second))
	default:
		ex.step(r, "ip_vs_check_template", "template found (real server %s) but invalid: %s; it would be re-keyed to port 65535 and a new one scheduled", ci.Dest, r)
	}
}

func (ex *Explanation) scheduled(s *Service, dest *Dest) {
	if ex == nil {
		return
	}
	name := s.sched.Name()
	if dest == nil {
		ex.step(ReasonNoDest, name+".schedule", "scheduler %s finds no available real server", name)
		return
	}
	ex.Scheduled = netip.AddrPortFrom(dest.Addr(), dest.port)
	ex.step(ReasonScheduled, name+".schedule", "scheduler %s chooses %s", name, ex.Scheduled)
}

func (ex *Explanation) conn(p *Packet, dest *Dest, dport uint16) {
	if ex == nil {
		return
	}
	ex.ConnClient = netip.AddrPortFrom(p.Src, p.SrcPort)
	ex.ConnVirtual = netip.AddrPortFrom(p.Dst, p.DstPort)
	ex.ConnDest = netip.AddrPortFrom(dest.Addr(), dport)
	out := ex.Outcome
	ex.step(out, "ip_vs_conn_new", "connection %s -> %s -> %s", ex.ConnClient, ex.ConnVirtual, ex.ConnDest)
}
