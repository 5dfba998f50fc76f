package ipvs

import (
	"sort"
	"time"
)

// Verdict is what the data plane does with a packet.
type Verdict uint8

// Verdicts, named after the kernel's netfilter verdicts and IPVS actions.
const (
	// VerdictAccept: not for IPVS (no service, not a scheduling packet,
	// FTP-service pass-through): the local stack handles it.
	VerdictAccept Verdict = iota
	// VerdictForward: transmit to Result.Conn's real server.
	VerdictForward
	// VerdictDrop: drop silently.
	VerdictDrop
	// VerdictReject: drop and answer ICMP port unreachable (ip_vs_leave).
	VerdictReject
	// VerdictBypass: forward to the original destination (cache_bypass).
	VerdictBypass
)

var verdictNames = [...]string{"accept", "forward", "drop", "reject", "bypass"}

func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "?"
}

// Result is the outcome of [Director.Process].
type Result struct {
	Verdict Verdict
	Reason  Reason
	// Conn is the connection the packet belongs to (nil unless forwarded).
	// For one-packet connections it is already unlinked.
	Conn *Conn
	// New reports whether the packet created the connection.
	New bool
}

// Process runs one packet through the director (the kernel's
// ip_vs_in_hook for DirIn, ip_vs_out_hook for DirOut) at time now: it finds
// or creates the connection, updates counters, statistics, state and
// timers. Expired entries are removed only by [Director.Advance], as the
// kernel removes them only when their timers fire.
func (d *Director) Process(p *Packet, now Time) Result {
	return d.process(p, now, cpuStripe())
}

// process is Process on stripe st.
func (d *Director) process(p *Packet, now Time, st uint) Result {
	d.mu.rlockAt(st)
	defer d.mu.runlockAt(st)
	if p.Dir == DirOut {
		return d.out(p, now, st)
	}
	t := packetTuple(p)
	t.st = st
	return d.in(p, &t, now, nil)
}

func packetTuple(p *Packet) tuple {
	return tuple{af: packetFamily(p), caddr: pack(p.Src), vaddr: pack(p.Dst)}
}

func packetFamily(p *Packet) Family {
	if p.Family != 0 {
		return p.Family
	}
	return FamilyOf(p.Src)
}

func isNewConn(p *Packet) bool {
	switch p.Protocol {
	case ProtoTCP:
		return p.TCPFlags&TCPSyn != 0
	case ProtoSCTP:
		return p.SCTPChunk == SCTPInit
	}
	return false
}

// isNewConnExpected mirrors ip_vs_core.c: is_new_conn_expected.
func isNewConnExpected(c *Conn, mode int) bool {
	if c.control != nil {
		return false
	}
	switch c.protocol {
	case ProtoTCP:
		return c.state == TCPTimeWait || c.state == TCPClose ||
			mode&2 != 0 && c.state == TCPFinWait && c.flags&ConnNoOutput != 0
	case ProtoSCTP:
		return c.state == SCTPSClosed
	}
	return false
}

// in is ip_vs_core.c: ip_vs_in_hook from the connection lookup on. With ex
// non-nil it only explains: nothing is changed.
func (d *Director) in(p *Packet, t *tuple, now Time, ex *Explanation) Result {
	switch p.Protocol {
	case ProtoTCP, ProtoUDP, ProtoSCTP:
	default:
		ex.step(ReasonNotIPVS, "ip_vs_in_hook", "protocol %d is not handled by IPVS", p.Protocol)
		return Result{Verdict: VerdictAccept, Reason: ReasonNotIPVS}
	}
	c := d.tab.lookupIn(t.af, p.Protocol, t.caddr, p.SrcPort, t.vaddr, p.DstPort)
	resched := false
	if c != nil && isNewConn(p) {
		c.mu.Lock()
		if d.settings.ExpireNodestConn && c.dest != nil && c.dest.weight.Load() == 0 {
			resched = true
			ex.step(ReasonRescheduled, "ip_vs_in_hook", "existing connection's real server has weight 0 and expire_nodest_conn=1: expire it and schedule anew")
		} else if d.settings.ConnReuseMode != 0 && isNewConnExpected(c, d.settings.ConnReuseMode) {
			// Without netfilter conntrack the old entry never blocks
			// (ip_vs_conn_uses_old_conntrack is false).
			resched = true
			ex.step(ReasonRescheduled, "ip_vs_in_hook", "connection in %s reused by a new connection (conn_reuse_mode): expire it and schedule anew", c.stateNameLocked())
		}
		c.mu.Unlock()
		if resched {
			if ex == nil && c.nControl.Load() == 0 {
				d.expireNow(c, now, t.st)
			}
			c = nil
		}
	}
	if c != nil && c.dest != nil && !c.dest.Available() {
		if d.settings.ExpireNodestConn {
			ex.step(ReasonDestUnavailable, "ip_vs_in_hook", "connection's real server was deleted and expire_nodest_conn=1: expire it and schedule anew")
			if ex == nil {
				d.expireNow(c, now, t.st)
			}
			c = nil
		} else {
			ex.step(ReasonDestUnavailable, "ip_vs_in_hook", "connection's real server was deleted: packet dropped")
			if ex == nil {
				d.counters.Dropped.add(t.st)
			}
			return Result{Verdict: VerdictDrop, Reason: ReasonDestUnavailable}
		}
	}
	isNew := false
	if c == nil {
		var r Result
		c, r = d.trySchedule(t, p, now, ex)
		if c == nil {
			return r
		}
		isNew = true
		if resched {
			d.counters.Rescheduled.add(t.st)
		}
	} else {
		ex.existing(c, now)
	}
	if ex != nil {
		return Result{Verdict: VerdictForward, Reason: ex.Outcome}
	}
	d.inStats(c, p.Len, t.st)
	d.putTimeout(c, now, true, d.setState(c, DirIn, p), t.st)
	reason := ReasonExisting
	if isNew {
		reason = ReasonScheduled
	}
	return Result{Verdict: VerdictForward, Reason: reason, Conn: c, New: isNew}
}

// trySchedule is the protocol's conn_schedule (ip_vs_proto_tcp.c:
// tcp_conn_schedule and its UDP and SCTP twins) followed by ip_vs_schedule
// and ip_vs_leave.
// tuple is a packet's family and addresses in the table's form, made once
// per packet.
type tuple struct {
	af           Family
	caddr, vaddr addr16
	// st is the stripe of the processor running the packet (cpuStripe).
	st uint
}

func (d *Director) trySchedule(t *tuple, p *Packet, now Time, ex *Explanation) (*Conn, Result) {
	switch p.Protocol {
	case ProtoTCP:
		if p.TCPFlags&TCPRst != 0 || !(d.settings.SloppyTCP || p.TCPFlags&TCPSyn != 0) {
			ex.step(ReasonNotSyn, "tcp_conn_schedule", "no connection and the packet is not a SYN (sloppy_tcp=0) or is a RST: not scheduled")
			return nil, Result{Verdict: VerdictAccept, Reason: ReasonNotSyn}
		}
	case ProtoSCTP:
		if p.SCTPChunk == SCTPAbort || !(d.settings.SloppySCTP || p.SCTPChunk == SCTPInit) {
			ex.step(ReasonNotSyn, "sctp_conn_schedule", "no association and the first chunk is not INIT: not scheduled")
			return nil, Result{Verdict: VerdictAccept, Reason: ReasonNotSyn}
		}
	}
	s := d.findService(t.af, p.Mark, p.Protocol, t.vaddr, p.DstPort)
	if s == nil {
		ex.step(ReasonNoService, "ip_vs_service_find", "no virtual service matches")
		return nil, Result{Verdict: VerdictAccept, Reason: ReasonNoService}
	}
	ex.service(s)
	if d.todrop(ex) {
		ex.step(ReasonDefenseDrop, "ip_vs_todrop", "drop_packet defense: one new connection in %d is dropped", d.dropRate.Load())
		if ex == nil {
			d.counters.Dropped.add(t.st)
		}
		return nil, Result{Verdict: VerdictDrop, Reason: ReasonDefenseDrop}
	}
	c, ignored, reason := d.schedule(s, p, t, now, ex)
	if c != nil {
		return c, Result{}
	}
	if ex != nil && (ex.ConnDest.IsValid() || ex.SchedulerNoPreview) {
		return nil, Result{Verdict: VerdictForward, Reason: reason}
	}
	switch {
	case ignored > 0:
		return nil, Result{Verdict: VerdictAccept, Reason: reason}
	case ignored < 0:
		if ex == nil {
			d.counters.Dropped.add(t.st)
		}
		return nil, Result{Verdict: VerdictDrop, Reason: reason}
	}
	return d.leave(s, p, t, now, reason, ex)
}

// findService mirrors ip_vs_ctl.c: ip_vs_service_find.
func (d *Director) findService(af Family, mark uint32, proto uint8, vaddr addr16, vport uint16) *Service {
	if mark != 0 {
		if s := d.fwm[fwmMapKey{af, mark}]; s != nil {
			return s
		}
	}
	if s := d.svcIx.find(af, proto, vaddr, vport); s != nil {
		return s
	}
	if proto == ProtoTCP && d.ftpSvcs > 0 && (vport == ftpDataPort || vport >= d.settings.UnprivilegedPortStart) {
		if s := d.svcIx.find(af, proto, vaddr, ftpPort); s != nil {
			return s
		}
	}
	if d.nullSvc > 0 {
		return d.svcIx.find(af, proto, vaddr, 0)
	}
	return nil
}

// leave mirrors ip_vs_core.c: ip_vs_leave, for a packet no real server takes.
func (d *Director) leave(s *Service, p *Packet, t *tuple, now Time, why Reason, ex *Explanation) (*Conn, Result) {
	if d.settings.CacheBypass && s.key.FWMark != 0 && d.isLocal != nil && !d.isLocal(p.Dst) {
		ex.step(ReasonBypass, "ip_vs_leave", "cache_bypass: forwarded to the original destination")
		if ex != nil {
			return nil, Result{Verdict: VerdictBypass, Reason: ReasonBypass}
		}
		var flags uint32 = uint32(FwdBypass)
		if s.flags&SvcOnePacket != 0 && p.Protocol == ProtoUDP {
			flags |= ConnOnePacket
		}
		c := d.newConn(t.af, p.Protocol, t.caddr, p.SrcPort, t.vaddr, p.DstPort,
			t.af, addr16{}, 0, connParams{flags: flags, st: t.st})
		if c == nil {
			return nil, Result{Verdict: VerdictDrop, Reason: ReasonTableFull}
		}
		d.setState(c, DirIn, p)
		d.put(c, now, true, t.st)
		return nil, Result{Verdict: VerdictBypass, Reason: ReasonBypass, Conn: c, New: true}
	}
	if s.key.Port == ftpPort && p.DstPort != ftpPort {
		ex.step(ReasonFTPPass, "ip_vs_leave", "FTP service catching another port without a connection: passed to the local stack")
		return nil, Result{Verdict: VerdictAccept, Reason: ReasonFTPPass}
	}
	ex.step(why, "ip_vs_leave", "no real server: ICMP port unreachable to the client, packet dropped")
	if ex == nil {
		d.counters.NoDest.add(t.st)
	}
	return nil, Result{Verdict: VerdictReject, Reason: why}
}

// schedule mirrors ip_vs_core.c: ip_vs_schedule. ignored follows the
// kernel: 1 accept, 0 no destination (ip_vs_leave), -1 drop.
func (d *Director) schedule(s *Service, p *Packet, t *tuple, now Time, ex *Explanation) (*Conn, int, Reason) {
	if p.SrcPort == ftpDataPort {
		ex.step(ReasonFTPData, "ip_vs_schedule", "client source port 20 (FTP data) is never scheduled")
		return nil, 1, ReasonFTPData
	}
	if s.persistent() {
		return d.schedPersist(s, p, t, now, ex)
	}
	if s.key.FWMark == 0 && p.DstPort != s.key.Port {
		if s.key.Port == 0 {
			ex.step(ReasonNoDest, "ip_vs_schedule", "port zero is only supported in persistent services")
		} else {
			ex.step(ReasonNoDest, "ip_vs_schedule", "non-persistent service reached on port %d, not its port %d", p.DstPort, s.key.Port)
		}
		return nil, 0, ReasonNoDest
	}
	dest := d.pick(s, p, now, ex)
	if dest == nil {
		return nil, 0, ReasonNoDest
	}
	dport := dest.port
	if dport == 0 {
		dport = p.DstPort
	}
	ex.conn(p, dest, dport)
	if ex != nil {
		return nil, 0, ReasonScheduled
	}
	c := d.newConn(t.af, p.Protocol, t.caddr, p.SrcPort, t.vaddr, p.DstPort,
		dest.af, dest.addr, dport, connParams{flags: onePacketFlag(s, p), dest: dest, st: t.st})
	if c == nil {
		return nil, -1, ReasonTableFull
	}
	d.counters.Scheduled.add(t.st)
	d.connStats(c, s, t.st)
	return c, 0, ReasonScheduled
}

func onePacketFlag(s *Service, p *Packet) uint32 {
	if s.flags&SvcOnePacket != 0 && p.Protocol == ProtoUDP {
		return ConnOnePacket
	}
	return 0
}

// pick calls the scheduler under the service's scheduler lock. When
// explaining, it asks a [Previewer] instead, which changes nothing.
func (d *Director) pick(s *Service, p *Packet, now Time, ex *Explanation) *Dest {
	s.schedMu.Lock()
	defer s.schedMu.Unlock()
	if s.sched == nil {
		ex.step(ReasonNoDest, "ip_vs_schedule", "service has no scheduler")
		return nil
	}
	if ex != nil {
		pv, ok := s.sched.(Previewer)
		if !ok {
			ex.step(ReasonScheduled, s.sched.Name()+".schedule", "scheduler %s would choose (its choice depends on state it would change, not previewed)", s.sched.Name())
			ex.SchedulerNoPreview = true
			return nil
		}
		dest := pv.Preview(s, p, now)
		ex.scheduled(s, dest)
		return dest
	}
	return s.sched.Schedule(s, p, now)
}

// Previewer is implemented by schedulers that can tell which dest they
// would pick without changing their state; [Director.Explain] uses it.
type Previewer interface {
	Preview(s *Service, p *Packet, now Time) *Dest
}

// templateKey is the key of a persistence template, built only by
// (*Director).templateKeyFor.
type templateKey struct {
	af       Family
	protocol uint8
	snet     addr16
	vaddr    addr16
	vport    uint16
	pe       *peData
	// kind names the case of ip_vs_sched_persist for Explain.
	kind TemplateKind
}

// TemplateKind names the template-key cases of ip_vs_sched_persist.
type TemplateKind uint8

// Template-key cases.
const (
	// TemplateNormal: <proto, caddr&mask, 0, vaddr, vport, daddr, dport>.
	TemplateNormal TemplateKind = iota
	// TemplateFTP: a port-21 service reached on 21:
	// <proto, caddr&mask, 0, vaddr, 0, daddr, 0>.
	TemplateFTP
	// TemplatePortZero: a port-zero service, or a port-21 service reached
	// on another port (FTP data): <proto, caddr&mask, 0, vaddr, 0, daddr, 0>.
	TemplatePortZero
	// TemplateFWMark: <IPPROTO_IP, caddr&mask, 0, fwmark, 0, daddr, 0>.
	TemplateFWMark
)

func (k TemplateKind) String() string {
	return [...]string{"normal", "ftp", "port-zero", "fwmark"}[k]
}

// templateKeyFor builds the template key exactly as ip_vs_core.c:
// ip_vs_sched_persist does, the one place where template keys are made.
func templateKeyFor(s *Service, p *Packet, t *tuple) templateKey {
	k := templateKey{af: t.af, protocol: p.Protocol, vaddr: t.vaddr}
	k.snet = maskAddr(s.key.Family, t.caddr, s.netmask)
	if p.DstPort == s.key.Port {
		if s.key.Port != ftpPort {
			k.vport = p.DstPort
			k.kind = TemplateNormal
		} else {
			k.kind = TemplateFTP
		}
	} else {
		k.kind = TemplatePortZero
		if s.key.FWMark != 0 {
			k.protocol = ProtoIP
			k.vaddr = addr16{}
			k.vaddr[0] = byte(s.key.FWMark >> 24)
			k.vaddr[1] = byte(s.key.FWMark >> 16)
			k.vaddr[2] = byte(s.key.FWMark >> 8)
			k.vaddr[3] = byte(s.key.FWMark)
			k.kind = TemplateFWMark
		}
	}
	return k
}

// checkTemplate mirrors ip_vs_conn.c: ip_vs_check_template; it returns
// ReasonTemplateHit for a valid template. Invalidation re-keys the template
// to ports 65535 unless explaining.
func (d *Director) checkTemplate(ct *Conn, ex *Explanation) Reason {
	dest := ct.dest
	var why Reason
	switch {
	case dest == nil || !dest.Available():
		why = ReasonTemplateDestGone
	case d.settings.ExpireQuiescentTemplate && dest.weight.Load() == 0:
		why = ReasonTemplateQuiescent
	default:
		return ReasonTemplateHit
	}
	if ex != nil {
		return why
	}
	// Under the template's lock, so that packets invalidating it at the
	// same time re-key it once (ip_vs_conn_unhash fails for the others).
	ct.mu.Lock()
	if ct.vport != 0xffff && !ct.Expired() {
		d.tab.unhash(ct)
		ct.dport = 0xffff
		ct.vport = 0xffff
		// Templates are made with client port 0: written only when one
		// (from a sync message) was not, as packets of its connections
		// read the template's address and port without its lock.
		if ct.cport != 0 {
			ct.cport = 0
		}
		ct.tports.Store(0xffff)
		d.tab.hash(ct)
	}
	ct.mu.Unlock()
	return why
}

// schedPersist mirrors ip_vs_core.c: ip_vs_sched_persist.
func (d *Director) schedPersist(s *Service, p *Packet, t *tuple, now Time, ex *Explanation) (*Conn, int, Reason) {
	k := templateKeyFor(s, p, t)
	if s.pe == "sip" {
		callID, ok := sipCallID(p)
		if !ok {
			ex.step(ReasonPEDrop, "ip_vs_sip_fill_param", "SIP persistence engine found no Call-ID: packet dropped")
			return nil, -1, ReasonPEDrop
		}
		k.pe = &peData{name: "sip", data: callID}
	}
	ex.templateKey(&k)
	ct := d.tab.lookupTemplate(k.af, k.protocol, k.snet, k.vaddr, k.vport, k.pe)
	var dest *Dest
	tplReason := ReasonTemplateAbsent
	if ct != nil {
		tplReason = d.checkTemplate(ct, ex)
	}
	ex.template(ct, tplReason, now)
	if tplReason != ReasonTemplateHit {
		dest = d.pick(s, p, now, ex)
		if dest == nil {
			return nil, 0, ReasonNoDest
		}
		if ex == nil {
			if tplReason == ReasonTemplateAbsent {
				d.counters.TemplateMiss.add(t.st)
			} else {
				d.counters.TemplateInvalid.add(t.st)
			}
			var tdport uint16
			if p.DstPort == s.key.Port && s.key.Port != ftpPort {
				tdport = dest.port
			}
			// A persistence timeout of 0 (possible through the API) makes
			// the template expire at the next tick.
			tt := s.timeout
			if tt == 0 {
				tt = time.Nanosecond
			}
			ct = d.newConn(k.af, k.protocol, k.snet, 0, k.vaddr, k.vport, dest.af, dest.addr, tdport,
				connParams{flags: ConnTemplate, dest: dest, pe: k.pe, timeout: tt, st: t.st})
			if ct == nil {
				return nil, -1, ReasonTableFull
			}
		}
	} else {
		dest = ct.dest
		if ex == nil {
			d.counters.TemplateHit.add(t.st)
		}
	}
	dport := p.DstPort
	if dport == s.key.Port && dest.port != 0 {
		dport = dest.port
	}
	ex.conn(p, dest, dport)
	if ex != nil {
		return nil, 0, tplReason
	}
	c := d.newConn(t.af, p.Protocol, t.caddr, p.SrcPort, t.vaddr, p.DstPort, dest.af, dest.addr, dport,
		connParams{flags: onePacketFlag(s, p), dest: dest, control: ct, st: t.st})
	if c == nil {
		d.put(ct, now, false, t.st)
		return nil, -1, ReasonTableFull
	}
	d.put(ct, now, false, t.st)
	d.connStats(c, s, t.st)
	return c, 0, tplReason
}

// connParams are the fields of a new entry beyond its tuple, all set
// before the entry becomes visible to other goroutines.
type connParams struct {
	flags   uint32
	dest    *Dest
	pe      *peData
	timeout time.Duration
	control *Conn
	st      uint // the caller's stripe (cpuStripe)
}

// newConn mirrors ip_vs_conn.c: ip_vs_conn_new and ip_vs_bind_dest (and
// ip_vs_control_add when a controller is given). The entry's timer is not
// started: put starts it.
func (d *Director) newConn(af Family, proto uint8, caddr addr16, cport uint16, vaddr addr16, vport uint16,
	daf Family, daddr addr16, dport uint16, cp connParams) *Conn {
	if max := d.settings.MaxConns; max > 0 && d.tab.len() >= int64(max) {
		d.tab.refused.Add(1)
		d.counters.TableFull.add(cp.st)
		return nil
	}
	c := d.allocConn()
	c.af, c.daf, c.protocol, c.caddr, c.cport, c.vaddr, c.vport = af, daf, proto, caddr, cport, vaddr, vport
	c.daddr, c.dport, c.flags, c.timeout = daddr, dport, cp.flags, newConnTimeout
	if cp.timeout != 0 {
		c.timeout = cp.timeout
	}
	if dest := cp.dest; dest != nil {
		cf := uint32(dest.method) | ConnInactive
		if dest.method != FwdMasq {
			cf |= ConnNoOutput
		}
		c.flags |= cf
		c.dest = dest
		if c.flags&ConnTemplate == 0 {
			if c.flags&ConnInactive == 0 {
				dest.activeConns.Add(1)
			}
			if tc := dest.totalConns.Add(1); uint32(tc) == dest.uThreshold {
				dest.updateOverload(1)
			}
		} else {
			dest.persistConns.Add(1)
		}
	}
	kind := c.flags & (ConnFwdMask | ConnTemplate | ConnOnePacket | ConnNoCport | ConnSync)
	if cp.pe != nil {
		kind |= connHasPE
		d.tab.setPE(c, cp.pe)
	}
	c.kind.Store(kind)
	if kind&ConnTemplate != 0 {
		c.tports.Store(uint32(cport)<<16 | uint32(vport))
	}
	if ct := cp.control; ct != nil {
		c.control = ct
		ct.nControl.Add(1)
	}
	if kind&ConnOnePacket == 0 {
		d.tab.insert(c, cp.st)
	} else {
		c.seq = uint32(d.tab.seq.Add(1))
	}
	return c
}

// unbindDest mirrors ip_vs_conn.c: ip_vs_unbind_dest.
func unbindDest(c *Conn) {
	dest := c.dest
	if dest == nil {
		return
	}
	if c.flags&ConnTemplate == 0 {
		if c.flags&ConnInactive == 0 {
			dest.activeConns.Add(-1)
		}
		if old := dest.totalConns.Add(-1) + 1; uint32(old) == dest.lThresholdVal() {
			dest.updateOverload(-1)
		}
	} else {
		dest.persistConns.Add(-1)
	}
}

// unbindDestLater is unbindDest for Advance, which holds the director
// exclusively: it counts the dest's losses in plain fields that nobody
// else writes, and endExpiry applies them once per dest, so that the
// dests' counters, which every new connection also changes, are written
// once per Advance instead of once per entry.
func (d *Director) unbindDestLater(c *Conn) {
	dest := c.dest
	if dest == nil {
		return
	}
	u := &dest.unbound
	if !u.listed {
		u.listed = true
		d.expiry.dests = append(d.expiry.dests, dest)
	}
	if c.flags&ConnTemplate == 0 {
		if c.flags&ConnInactive == 0 {
			u.active++
		}
		u.total++
	} else {
		u.persist++
	}
}

// connStats mirrors ip_vs_core.c: ip_vs_conn_stats.
func (d *Director) connStats(c *Conn, s *Service, st uint) {
	if c.dest != nil {
		c.dest.stats.countConn(st)
	}
	s.stats.countConn(st)
}

// inStats mirrors ip_vs_core.c: ip_vs_in_stats.
func (d *Director) inStats(c *Conn, n int, st uint) {
	dest := c.dest
	if dest == nil || !dest.Available() {
		return
	}
	dest.stats.countIn(st, n)
	if dest.svc != nil {
		dest.svc.stats.countIn(st, n)
	}
}

func (d *Director) outStats(c *Conn, n int, st uint) {
	dest := c.dest
	if dest == nil || !dest.Available() {
		return
	}
	dest.stats.countOut(st, n)
	if dest.svc != nil {
		dest.svc.stats.countOut(st, n)
	}
}

// put mirrors ip_vs_conn_put after a packet for an entry that packets do
// not run through the state machine: a template, or an entry this packet
// just made. One-packet connections are freed now; every other entry's
// timer restarts at now+timeout. countPkt counts the packet in in_pkts
// (the template's for one-packet connections). Such an entry's timeout
// changes only while the director is held exclusively (ip_vs_conn_expire's
// 60 s), so it is read without the entry's lock.
func (d *Director) put(c *Conn, now Time, countPkt bool, st uint) {
	d.putTimeout(c, now, countPkt, c.timeout, st)
}

// putTimeout is put with the entry's timeout already read.
func (d *Director) putTimeout(c *Conn, now Time, countPkt bool, t time.Duration, st uint) {
	if c.kind.Load()&ConnOnePacket != 0 {
		if countPkt && c.control != nil {
			c.control.inPkts.Add(1)
		}
		d.freeConn(c, now)
		return
	}
	if countPkt {
		c.inPkts.Add(1)
	}
	d.tab.timerSet(c, now, t, st)
}

// expireNow mirrors ip_vs_conn_expire_now: a pending timer is moved to the
// current jiffy, so it fires at the next tick.
func (d *Director) expireNow(c *Conn, now Time, st uint) {
	if d.tab.timerPending(c) && c.Expires() > now {
		d.tab.timerSet(c, now, 0, st)
	}
}

// setState runs the protocol's state transition for one packet
// (ip_vs_set_state) and returns the entry's timeout after it.
func (d *Director) setState(c *Conn, dir Direction, p *Packet) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.protocol {
	case ProtoTCP:
		d.tcpTransition(c, dir, p.TCPFlags)
	case ProtoUDP:
		c.timeout = d.udpTimeout
		if dir == DirOut {
			assure(c)
		}
	case ProtoSCTP:
		d.sctpTransition(c, dir, p.SCTPChunk, p.SCTPNextChunk)
	}
	return c.timeout
}

// assure mirrors ip_vs.h: ip_vs_control_assure_ct.
func assure(c *Conn) {
	ct := c.control
	if ct == nil || ct.kind.Load()&ConnTemplate == 0 {
		return
	}
	ct.mu.Lock()
	ct.state |= tplAssured
	ct.mu.Unlock()
}

// tcpTransition mirrors ip_vs_proto_tcp.c: set_tcp_state.
func (d *Director) tcpTransition(c *Conn, dir Direction, flags uint8) {
	off := tblInput
	if dir == DirOut {
		off = tblOutput
	}
	if c.flags&ConnNoOutput != 0 {
		if off == tblOutput {
			c.flags &^= ConnNoOutput
		} else {
			off = tblInputOnly
		}
	}
	next := TCPClose
	if ev := tcpEvent(flags); ev >= 0 {
		sec := 0
		if d.settings.SecureTCP >= 3 {
			sec = 1
		}
		next = tcpTable[sec][off][ev][c.state]
	}
	if next != c.state {
		if dest := c.dest; dest != nil {
			if c.flags&ConnInactive == 0 && !tcpActive(next) {
				dest.activeConns.Add(-1)
				c.flags |= ConnInactive
			} else if c.flags&ConnInactive != 0 && tcpActive(next) {
				dest.activeConns.Add(1)
				c.flags &^= ConnInactive
			}
		}
		if next == TCPEstablished {
			assure(c)
		}
	}
	c.state = next
	c.timeout = d.tcpTimeouts[next]
}

// sctpTransition mirrors ip_vs_proto_sctp.c: set_sctp_state.
func (d *Director) sctpTransition(c *Conn, dir Direction, chunk, next uint8) {
	ev := sctpEvent(chunk, next)
	tbl := tblInput
	if dir == DirOut {
		tbl = tblOutput
	}
	if c.flags&ConnNoOutput != 0 {
		if tbl == tblOutput {
			c.flags &^= ConnNoOutput
		} else {
			tbl = tblInputOnly
		}
	}
	ns := sctpTable[tbl][ev][c.state]
	if ns != c.state {
		if dest := c.dest; dest != nil {
			if c.flags&ConnInactive == 0 && ns != SCTPSEstablished {
				dest.activeConns.Add(-1)
				c.flags |= ConnInactive
			} else if c.flags&ConnInactive != 0 && ns == SCTPSEstablished {
				dest.activeConns.Add(1)
				c.flags &^= ConnInactive
			}
		}
		if ns == SCTPSEstablished {
			assure(c)
		}
	}
	c.state = ns
	c.timeout = d.sctpTimeouts[ns]
}

// out mirrors ip_vs_core.c: ip_vs_out_hook for a reply from a real server.
func (d *Director) out(p *Packet, now Time, st uint) Result {
	af := packetFamily(p)
	c := d.tab.lookupOut(af, p.Protocol, pack(p.Src), p.SrcPort, pack(p.Dst), p.DstPort)
	if c == nil {
		return Result{Verdict: VerdictAccept, Reason: ReasonNoConn}
	}
	d.outStats(c, p.Len, st)
	d.putTimeout(c, now, false, d.setState(c, DirOut, p), st)
	return Result{Verdict: VerdictForward, Reason: ReasonExisting, Conn: c}
}

// Advance moves the director's clock to now: it fires every connection
// timer and estimator tick due at or before now, in time order, each at its
// own time (ip_vs_conn_expire; ip_vs_est.c: estimation_timer, every 2 s).
func (d *Director) Advance(now Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if now > d.now {
		d.now = now
	}
	if !d.estInit {
		d.estInit = true
		d.estNext = now.Add(2 * time.Second)
		d.defenseNext = now.Add(time.Second)
	}
	if now >= d.defenseNext {
		// defense_work_handler, every second (DEFENSE_TIMER_PERIOD).
		d.updateDefense()
		d.defenseNext = now.Add(time.Second)
	}
	d.expiry.on = true
	defer d.endExpiry()
	for {
		var at Time
		d.batch, at = d.tab.popDue(now, d.batch)
		for d.estNext <= now && (len(d.batch) == 0 || d.estNext <= at) {
			d.estimate()
			d.estNext = d.estNext.Add(2 * time.Second)
		}
		if len(d.batch) == 0 {
			break
		}
		waiting := d.waiting[:0]
		for i, c := range d.batch {
			if i%warmBatch == 0 {
				d.tab.warm(d.batch[i:min(i+warmBatch, len(d.batch))])
			}
			d.batch[i] = nil
			if d.tab.firesAfterControl(c) {
				waiting = append(waiting, c)
				d.waited++
				continue
			}
			d.fire(c, at)
		}
		d.waiting = d.fireWaiting(waiting, at)
	}
	d.endExpiry() // the dests' counters are complete again
	d.sweepTrash(now)
}

// fireWaiting fires the batch's entries whose controller fires before
// them in the kernel's list, each once its controller has (a chain may be
// FTP data, control connection, template). It returns the emptied slice.
func (d *Director) fireWaiting(waiting []*Conn, at Time) []*Conn {
	for len(waiting) > 0 {
		n := 0
		for _, c := range waiting {
			if d.tab.firesAfterControl(c) {
				waiting[n] = c
				n++
				continue
			}
			d.fire(c, at)
		}
		if n == len(waiting) {
			// Cannot happen (a chain's root waits for nothing); fire
			// them anyway rather than loop.
			for _, c := range waiting {
				d.fire(c, at)
			}
			n = 0
		}
		clear(waiting[n:])
		waiting = waiting[:n]
	}
	return waiting
}

// fire runs c's timer, an entry of the batch being fired, unless it was
// deleted or re-armed by an earlier timer of the batch.
func (d *Director) fire(c *Conn, at Time) {
	if d.tab.firing(c) {
		d.expire(c, at)
	}
}

// estimate folds the statistics of every service, dest and the totals
// (ip_vs_est.c: estimation_timer).
func (d *Director) estimate() {
	if !d.settings.RunEstimation {
		return
	}
	tot := d.gone
	for _, s := range d.svcs {
		s.estimate(&tot)
	}
	for _, s := range d.fwm {
		s.estimate(&tot)
	}
	for _, x := range d.trash {
		x.stats.fold()
	}
	d.stats.foldValues(tot)
}

// estimate folds the service's statistics and its dests' and adds the
// service's counters to tot.
func (s *Service) estimate(tot *[5]uint64) {
	s.stats.fold()
	for i := range tot {
		tot[i] += s.stats.folded[i]
	}
	for _, x := range s.dests {
		x.stats.fold()
	}
}

// expire mirrors ip_vs_conn.c: ip_vs_conn_expire for a timer that fired at
// at. Called with d.mu held for writing; c's timer is no longer queued.
func (d *Director) expire(c *Conn, at Time) {
	if c.nControl.Load() > 0 {
		c.mu.Lock()
		c.timeout = expireLater
		c.mu.Unlock()
		d.tab.timerSet(c, at, expireLater, cpuStripe())
		return
	}
	d.freeConn(c, at)
}

// freeConn unlinks c, detaches it from its controller and unbinds it
// (the body of ip_vs_conn_expire).
func (d *Director) freeConn(c *Conn, at Time) {
	kind := c.kind.Or(connUnlinked)
	if kind&connUnlinked != 0 {
		return
	}
	if kind&ConnOnePacket == 0 {
		if d.expiry.on {
			// In Advance, holding the director exclusively: no packet
			// holds a shard's lock, and the count drops once at the end.
			d.tab.unhashAlone(c)
			d.expiry.unhashed++
		} else {
			d.tab.unhash(c)
			d.tab.counted(c.stripe(), -1)
		}
	}
	d.tab.dropPE(c)
	if ct := c.control; ct != nil {
		hasRef := c.timeout == 0
		c.control = nil
		n := ct.nControl.Add(-1)
		if hasRef && n == 0 && (ct.kind.Load()&ConnTemplate == 0 || ct.state&tplAssured == 0) {
			d.connDel(ct, at)
		}
	}
	if d.expiry.on {
		d.unbindDestLater(c)
		if !d.free.off {
			d.free.free(c)
		}
	} else {
		unbindDest(c)
	}
}

// expiry is what Advance keeps back while it expires entries, holding
// the director exclusively: on while it does (freed entries go to the
// recycler, the shards' locks are not taken), the entries taken out of the
// table, and the dests whose counters lost entries (Dest.unbound).
type expiry struct {
	on       bool
	unhashed int64
	dests    []*Dest
}

// endExpiry ends Advance's expiries: it hands the freed entries to the
// pool and applies what was kept back of the table's and the dests'
// counts. Called again when done (deferred), it does nothing.
func (d *Director) endExpiry() {
	d.expiry.on = false
	d.free.flush()
	d.tab.counted(0, -d.expiry.unhashed)
	d.expiry.unhashed = 0
	for i, x := range d.expiry.dests {
		x.applyUnbound()
		d.expiry.dests[i] = nil
	}
	d.expiry.dests = d.expiry.dests[:0]
}

// connDel mirrors ip_vs_conn.c: ip_vs_conn_del: a forced expiry that also
// drops an unused controller.
func (d *Director) connDel(c *Conn, at Time) {
	if d.tab.timerDel(c) {
		if c.control != nil {
			c.timeout = 0
		}
		d.expire(c, at)
	}
}

// expireNodestConns mirrors ip_vs_conn.c: ip_vs_expire_nodest_conn_flush:
// entries of unavailable dests that control nothing are deleted, with
// their controllers once those control nothing. Called with d.mu held.
func (d *Director) expireNodestConns() {
	var all []*Conn
	d.tab.forEach(func(c *Conn) { all = append(all, c) })
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	for _, c := range all {
		if c.Expired() || c.dest == nil || c.dest.Available() || c.nControl.Load() > 0 {
			continue
		}
		cc := c.control
		at := d.now
		d.connDel(c, at)
		if cc != nil && cc.nControl.Load() == 0 {
			d.connDel(cc, at)
		}
	}
}

// Lookup finds the connection a client-to-virtual packet belongs to
// (ip_vs_conn_in_get) without changing anything: no state transition,
// counter or timer. It returns nil when there is none.
func (d *Director) Lookup(p *Packet) *Conn {
	return d.tab.lookupIn(packetFamily(p), p.Protocol, pack(p.Src), p.SrcPort, pack(p.Dst), p.DstPort)
}
