package ipvs

import (
	"fmt"
	"net/netip"
	"sort"

	"sync/atomic"
	"time"
)

// Config configures a [Director]. A nil *Config means the defaults.
type Config struct {
	// Settings are the kernel sysctls; nil means DefaultSettings.
	Settings *Settings
	// Schedulers makes scheduler instances by kernel name (sched.New).
	// Required to add services.
	Schedulers SchedulerFactory
	// IsLocal reports whether an address is local to the director; used
	// only by cache_bypass (ip_vs_core.c: ip_vs_leave). nil: every address
	// is local, so no bypass connection is ever made.
	IsLocal func(netip.Addr) bool
}

type svcMapKey struct {
	af    Family
	proto uint8
	addr  addr16
	port  uint16
}

type fwmMapKey struct {
	af   Family
	mark uint32
}

// Director holds virtual services, real servers and the connection table:
// one IPVS instance (a kernel network namespace). The zero value is not
// usable; use [NewDirector].
type Director struct {
	mu       dirLock
	settings Settings
	newSched SchedulerFactory
	isLocal  func(netip.Addr) bool

	svcs    map[svcMapKey]*Service
	svcIx   svcIndex // svcs for the packet path
	svcSeq  uint64
	fwm     map[fwmMapKey]*Service
	ftpSvcs int // services on port 21 (ipvs->ftpsvc_counter)
	nullSvc int // port-zero address services (ipvs->nullsvc_counter)

	// trash holds deleted dests while connections reference them
	// (ip_vs_ctl.c: dest_trash).
	trash []*Dest

	tab *table

	tcpTimeouts  [tcpStates]time.Duration
	udpTimeout   time.Duration
	sctpTimeouts [sctpStates]time.Duration

	// now is the latest time given to Advance: configuration changes,
	// which take no time argument, happen then.
	now Time

	// batch is Advance's buffer of timers firing together.
	batch []*Conn
	// waiting holds the batch's entries that fire after their controller;
	// waited counts them (for tests).
	waiting []*Conn
	waited  int
	// free holds entries Advance freed, for new ones (recycle.go).
	free recycler
	// expiry is what Advance keeps back while it expires entries.
	expiry expiry

	// stats are the totals (ip_vs_ctl.c: tot_stats). Every packet or
	// connection they count is counted by exactly one service too, so the
	// estimator sums the services' counters and those of deleted ones
	// (gone) instead of packets counting a third time.
	stats   Stats
	gone    [5]uint64
	estNext Time
	estInit bool

	// The drop_packet defense (ip_vs.h: ip_vs_todrop): dropRate is 0 while
	// off; both are read and counted by packets without the lock, as the
	// kernel's are. defenseNext is the next tick of update_defense_level.
	dropRate    atomic.Int32
	dropCounter atomic.Int32
	defenseNext Time

	counters Counters
}

// Counters count decisions by outcome, for metrics.
type Counters struct {
	TemplateHit     Counter
	TemplateMiss    Counter
	TemplateInvalid Counter
	Scheduled       Counter
	Rescheduled     Counter
	NoDest          Counter
	Dropped         Counter
	TableFull       Counter
}

// Counter is one decision counter. Packets count in their processor's
// stripe (see cpuStripe), so that cores do not pass its cache line to and
// fro on every new connection.
type Counter struct {
	s [lockStripes]struct {
		n atomic.Uint64
		_ [cacheLine - 8]byte
	}
}

// Load returns the count.
func (c *Counter) Load() uint64 {
	var n uint64
	for i := range c.s {
		n += c.s[i].n.Load()
	}
	return n
}

func (c *Counter) add(st uint) { c.s[st%lockStripes].n.Add(1) }

// NewDirector returns an empty director.
func NewDirector(cfg *Config) *Director {
	if cfg == nil {
		cfg = &Config{}
	}
	d := &Director{
		settings: DefaultSettings(),
		newSched: cfg.Schedulers,
		isLocal:  cfg.IsLocal,
		svcs:     make(map[svcMapKey]*Service),
		fwm:      make(map[fwmMapKey]*Service),
		tab:      newTable(),
	}
	if cfg.Settings != nil {
		d.settings = *cfg.Settings
	}
	d.tcpTimeouts = defaultTCPTimeouts
	d.udpTimeout = defaultUDPTimeout
	d.sctpTimeouts = defaultSCTPTimeouts
	return d
}

// Counters returns the director's decision counters.
func (d *Director) Counters() *Counters { return &d.counters }

// Settings returns a copy of the current settings.
func (d *Director) Settings() Settings {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.settings
}

// SetSettings replaces the settings.
func (d *Director) SetSettings(s Settings) {
	d.mu.Lock()
	old := d.settings
	d.settings = s
	// proc_do_defense_mode: a changed defense mode is applied at once.
	if s.DropPacket != old.DropPacket || s.DropEntry != old.DropEntry || s.SecureTCP != old.SecureTCP {
		d.updateDefense()
	}
	d.mu.Unlock()
}

// updateDefense mirrors ip_vs_ctl.c: update_defense_level, with memory
// never short (golvs does not see the kernel's free pages): an automatic
// mode stays at 1 or falls back to it from 2, and drop_packet=3 drops one
// new connection in am_droprate. The drop counter is left as it is, so
// the first new connection after switching to mode 3 is dropped. Called
// with d.mu held for writing.
func (d *Director) updateDefense() {
	for _, m := range []*int{&d.settings.DropEntry, &d.settings.DropPacket, &d.settings.SecureTCP} {
		if *m == 2 {
			*m = 1
		}
	}
	if d.settings.DropPacket == 3 {
		d.dropRate.Store(int32(d.settings.AmDroprate))
	} else {
		d.dropRate.Store(0)
	}
}

// todrop mirrors ip_vs.h: ip_vs_todrop; explaining tells without counting.
func (d *Director) todrop(ex *Explanation) bool {
	rate := d.dropRate.Load()
	if rate == 0 {
		return false
	}
	if ex != nil {
		return d.dropCounter.Load()-1 <= 0
	}
	if d.dropCounter.Add(-1) > 0 {
		return false
	}
	d.dropCounter.Store(rate)
	return true
}

// normalizeKey fills the identity fields as the kernel's netlink parser
// does (ip_vs_ctl.c: ip_vs_genl_parse_service).
func normalizeKey(cfg *ServiceConfig) error {
	if cfg.FWMark == 0 {
		switch cfg.Protocol {
		case ProtoTCP, ProtoUDP, ProtoSCTP:
		default:
			return fmt.Errorf("%w: protocol %d", ErrInvalid, cfg.Protocol)
		}
		if !cfg.Addr.IsValid() {
			return fmt.Errorf("%w: missing virtual address", ErrInvalid)
		}
		cfg.Family = FamilyOf(cfg.Addr)
		return nil
	}
	if cfg.Family == 0 {
		cfg.Family = AFInet
	}
	cfg.Protocol = ProtoTCP
	cfg.Addr = netip.Addr{}
	cfg.Port = 0
	return nil
}

// checkService validates the values in the order of ip_vs_ctl.c:
// ip_vs_add_service and ip_vs_edit_service: scheduler, persistence engine,
// IPv6 prefix length. It returns the new scheduler instance.
func (d *Director) checkService(cfg *ServiceConfig) (Scheduler, error) {
	if cfg.Scheduler == "" {
		cfg.Scheduler = "wlc"
	}
	var sc Scheduler
	if cfg.Scheduler != "none" {
		var err error
		if sc, err = d.makeScheduler(cfg.Scheduler); err != nil {
			return nil, err
		}
	}
	if cfg.PE != "" && cfg.PE != "sip" {
		return nil, fmt.Errorf("%w: persistence engine %q", ErrSchedulerNotFound, cfg.PE)
	}
	if cfg.Family == AFInet6 {
		if cfg.Netmask == 0 && !cfg.NetmaskSet {
			cfg.Netmask = 128
		}
		if cfg.Netmask < 1 || cfg.Netmask > 128 {
			return nil, fmt.Errorf("%w: IPv6 prefix length %d", ErrInvalid, cfg.Netmask)
		}
	} else if cfg.Netmask == 0 && !cfg.NetmaskSet {
		cfg.Netmask = 0xffffffff
	}
	return sc, nil
}

func (d *Director) lookupService(k ServiceKey) *Service {
	if k.FWMark != 0 {
		af := k.Family
		if af == 0 {
			af = AFInet
		}
		return d.fwm[fwmMapKey{af, k.FWMark}]
	}
	if !k.Addr.IsValid() {
		return nil
	}
	return d.svcs[svcMapKey{FamilyOf(k.Addr), k.Protocol, pack(k.Addr), k.Port}]
}

func (d *Director) makeScheduler(name string) (Scheduler, error) {
	if d.newSched == nil {
		return nil, fmt.Errorf("%w: %q (no scheduler factory)", ErrSchedulerNotFound, name)
	}
	return d.newSched(name)
}

// serviceIniter is implemented by schedulers that build state from the
// service's dests when bound (the kernel's init_service).
type serviceIniter interface{ InitService(s *Service) }

func bindScheduler(s *Service, sc Scheduler) {
	s.schedMu.Lock()
	s.sched = sc
	if in, ok := sc.(serviceIniter); ok {
		in.InitService(s)
	}
	s.schedMu.Unlock()
}

// AddService adds a virtual service (ip_vs_ctl.c: ip_vs_add_service).
func (d *Director) AddService(cfg ServiceConfig) error {
	if err := normalizeKey(&cfg); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.lookupService(cfg.ServiceKey) != nil {
		return ErrServiceExists
	}
	sc, err := d.checkService(&cfg)
	if err != nil {
		return err
	}
	d.svcSeq++
	s := &Service{dir: d, key: cfg.ServiceKey, vaddr: pack(cfg.Addr), seq: d.svcSeq}
	if cfg.FWMark != 0 {
		s.vaddr = addr16{}
	}
	s.apply(cfg)
	bindScheduler(s, sc)
	if cfg.FWMark != 0 {
		d.fwm[fwmMapKey{cfg.Family, cfg.FWMark}] = s
	} else {
		d.svcs[svcMapKey{cfg.Family, cfg.Protocol, s.vaddr, cfg.Port}] = s
		d.svcIx.rebuild(d.svcs)
		if cfg.Port == 0 {
			d.nullSvc++
		}
	}
	if cfg.Port == ftpPort {
		d.ftpSvcs++
	}
	return nil
}

const (
	ftpPort     = 21
	ftpDataPort = 20
)

func (s *Service) apply(cfg ServiceConfig) {
	s.schedName = cfg.Scheduler
	s.flags = cfg.Flags | SvcHashed
	s.timeoutSec = cfg.Timeout
	s.timeout = time.Duration(cfg.Timeout) * time.Second
	s.netmask = cfg.Netmask
	s.pe = cfg.PE
}

// EditService changes a service's scheduler, flags, timeout, netmask and
// persistence engine (ip_vs_ctl.c: ip_vs_edit_service). The scheduler's
// state is kept when the name is unchanged, reset otherwise.
func (d *Director) EditService(cfg ServiceConfig) error {
	if err := normalizeKey(&cfg); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.lookupService(cfg.ServiceKey)
	if s == nil {
		return ErrNoService
	}
	if cfg.Scheduler == "" {
		cfg.Scheduler = "wlc"
	}
	keep := s.schedName == cfg.Scheduler
	if keep {
		// Same scheduler: its state is kept; only the other values are checked.
		name := cfg.Scheduler
		cfg.Scheduler = "none"
		_, err := d.checkService(&cfg)
		cfg.Scheduler = name
		if err != nil {
			return err
		}
	} else {
		sc, err := d.checkService(&cfg)
		if err != nil {
			return err
		}
		bindScheduler(s, sc)
	}
	s.apply(cfg)
	return nil
}

// DelService deletes a service; its dests go to the trash and its
// connections stay until they expire (ip_vs_ctl.c: __ip_vs_del_service).
func (d *Director) DelService(k ServiceKey) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.lookupService(k)
	if s == nil {
		return ErrNoService
	}
	d.delServiceLocked(s)
	return nil
}

func (d *Director) delServiceLocked(s *Service) {
	if s.key.FWMark != 0 {
		delete(d.fwm, fwmMapKey{s.key.Family, s.key.FWMark})
	} else {
		delete(d.svcs, svcMapKey{s.key.Family, s.key.Protocol, s.vaddr, s.key.Port})
		d.svcIx.rebuild(d.svcs)
		if s.key.Port == 0 {
			d.nullSvc--
		}
	}
	if s.key.Port == ftpPort {
		d.ftpSvcs--
	}
	for i := range d.gone {
		d.gone[i] += s.stats.load(i)
	}
	for _, dst := range s.dests {
		dst.available.Store(false)
		d.trashDest(dst)
	}
	s.dests = nil
	if d.settings.ExpireNodestConn {
		d.expireNodestConns()
	}
}

// Flush deletes every service (ipvsadm -C).
func (d *Director) Flush() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.servicesLocked() {
		d.delServiceLocked(s)
	}
	return nil
}

// servicesLocked returns the services in the order the kernel dumps them
// (ip_vs_ctl.c: ip_vs_genl_dump_services): address services by hash
// bucket, then fwmark services by bucket, newest first within a bucket.
// ipvsadm sorts this list, but its sort is not a total order (see package
// ipvsadm), so the input order shows in some listings, and --nosort prints
// it as is.
func (d *Director) servicesLocked() []*Service {
	out := make([]*Service, 0, len(d.svcs)+len(d.fwm))
	for _, s := range d.svcs {
		out = append(out, s)
	}
	for _, s := range d.fwm {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if af, bf := a.key.FWMark != 0, b.key.FWMark != 0; af != bf {
			return bf
		}
		if ha, hb := a.hashKey(), b.hashKey(); ha != hb {
			return ha < hb
		}
		return a.seq > b.seq
	})
	return out
}

// svcHashSeed stands for the kernel's ((size_t)ipvs >> 8) in the service
// hash: a byte of the address of the network namespace's IPVS state. Its
// low nibble is 0 on the reference kernel and its high nibble changes from
// boot to boot (slab freelist randomization), so the kernel's dump order
// is not reproducible; golvs uses 0xF0, one value the reference kernel
// showed (`ipvsadm -L -n --nosort`, replay scenarios 111 and 112).
const svcHashSeed = 0xF0

// hashKey mirrors ip_vs_ctl.c: ip_vs_svc_hashkey and ip_vs_svc_fwm_hashkey
// (IP_VS_SVC_TAB_BITS = 8).
func (s *Service) hashKey() uint32 {
	if s.key.FWMark != 0 {
		return (svcHashSeed ^ s.key.FWMark) & 0xff
	}
	port := uint32(s.key.Port)
	ahash := s.vaddr.fold(s.key.Family) ^ svcHashSeed
	return (uint32(s.key.Protocol) ^ ahash ^ (port >> 8) ^ port) & 0xff
}

func (d *Director) checkDest(s *Service, dc *DestConfig) error {
	if !dc.Addr.IsValid() {
		return fmt.Errorf("%w: missing real server address", ErrInvalid)
	}
	if dc.Method > FwdRoute {
		return fmt.Errorf("%w: forwarding method %d", ErrInvalid, dc.Method)
	}
	// ip_vs_ctl.c: ip_vs_genl_set_cmd: mixed families only for tunnels.
	if FamilyOf(dc.Addr) != s.key.Family && dc.Method != FwdTunnel {
		return fmt.Errorf("%w: real server %s in a %s service is allowed only for tunneling", ErrInvalid, dc.Addr, s.key.Family)
	}
	// ip_vs_ctl.c: ip_vs_add_dest, ip_vs_edit_dest, in this order.
	if dc.Weight < 0 {
		return fmt.Errorf("%w: weight %d is negative", ErrRange, dc.Weight)
	}
	if dc.LThreshold > dc.UThreshold {
		return fmt.Errorf("%w: lower threshold %d is higher than upper threshold %d", ErrRange, dc.LThreshold, dc.UThreshold)
	}
	if dc.UThreshold > 1<<31-1 {
		return fmt.Errorf("%w: upper threshold %d", ErrInvalid, dc.UThreshold)
	}
	if dc.Method == FwdTunnel && dc.TunType == TunGUE && dc.TunPort == 0 {
		return fmt.Errorf("%w: GUE tunnel without port", ErrInvalid)
	}
	return nil
}

// checkDestAddr mirrors ip_vs_ctl.c: ip_vs_new_dest: a new real server's
// address must be local or unicast (IPv6: unicast and not link-local).
func checkDestAddr(a netip.Addr) error {
	if a.Is4() {
		if a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
			return fmt.Errorf("%w: real server address %s is not unicast", ErrInvalid, a)
		}
		return nil
	}
	if a.IsUnspecified() || a.IsMulticast() || a.IsLinkLocalUnicast() {
		return fmt.Errorf("%w: real server address %s is not a global unicast address", ErrInvalid, a)
	}
	return nil
}

// AddDest adds a real server at the head of the service's list, reviving it
// from the trash when the same dest of the same service identity is there
// (ip_vs_ctl.c: ip_vs_add_dest, ip_vs_trash_get_dest, __ip_vs_update_dest).
func (d *Director) AddDest(k ServiceKey, dc DestConfig) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.lookupService(k)
	if s == nil {
		return ErrServiceNotDefined
	}
	if err := d.checkDest(s, &dc); err != nil {
		return err
	}
	af, a := FamilyOf(dc.Addr), pack(dc.Addr)
	if x, _ := s.findDest(af, a, dc.Port); x != nil {
		return ErrDestExists
	}
	dst := d.trashGet(s, af, a, dc.Port)
	if dst == nil {
		if err := checkDestAddr(dc.Addr); err != nil {
			return err
		}
		dst = &Dest{af: af, addr: a, port: dc.Port}
	} else if dst.svc != s {
		// Revived into a re-created service: statistics restart
		// (__ip_vs_update_dest: old_svc != svc -> ip_vs_zero_stats).
		dst.stats.zeroStats()
	}
	dst.svc = s
	dst.svcKey = s.key
	d.updateDest(s, dst, dc, true)
	s.schedMu.Lock()
	s.dests = append([]*Dest{dst}, s.dests...)
	s.reindex()
	dst.available.Store(true)
	if o, ok := s.sched.(DestObserver); ok {
		o.AddDest(s, dst)
	}
	s.schedMu.Unlock()
	return nil
}

// updateDest mirrors ip_vs_ctl.c: __ip_vs_update_dest for the fields the
// core keeps.
func (d *Director) updateDest(s *Service, dst *Dest, dc DestConfig, add bool) {
	if add || dc.Weight != 0 {
		dst.lastWeight.Store(dc.Weight)
	}
	dst.weight.Store(dc.Weight)
	dst.method = dc.Method
	dst.tunType, dst.tunPort, dst.tunFlags = dc.TunType, dc.TunPort, dc.TunFlags
	if dst.uThreshold != dc.UThreshold || dst.lThreshold != dc.LThreshold {
		dst.uThreshold = dc.UThreshold
		dst.lThreshold = dc.LThreshold
		dst.updateOverload(0)
	}
}

// EditDest changes a real server in place (ip_vs_ctl.c: ip_vs_edit_dest).
func (d *Director) EditDest(k ServiceKey, dc DestConfig) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.lookupService(k)
	if s == nil {
		return ErrServiceNotDefined
	}
	if err := d.checkDest(s, &dc); err != nil {
		return err
	}
	dst, _ := s.findDest(FamilyOf(dc.Addr), pack(dc.Addr), dc.Port)
	if dst == nil {
		return ErrNoDest
	}
	d.updateDest(s, dst, dc, false)
	dst.available.Store(true)
	s.schedMu.Lock()
	if o, ok := s.sched.(DestObserver); ok {
		o.UpdDest(s, dst)
	}
	s.schedMu.Unlock()
	return nil
}

// DelDest unlinks a real server and moves it to the trash
// (ip_vs_ctl.c: ip_vs_del_dest).
func (d *Director) DelDest(k ServiceKey, addr netip.Addr, port uint16) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.lookupService(k)
	if s == nil {
		return ErrServiceNotDefined
	}
	dst, i := s.findDest(FamilyOf(addr), pack(addr), port)
	if dst == nil {
		return ErrNoDest
	}
	dst.available.Store(false)
	s.schedMu.Lock()
	var prev *Dest
	if i > 0 {
		prev = s.dests[i-1]
	}
	s.dests = append(s.dests[:i:i], s.dests[i+1:]...)
	s.reindex()
	if o, ok := s.sched.(DestObserver); ok {
		o.DelDest(s, dst, prev)
	}
	s.schedMu.Unlock()
	d.trashDest(dst)
	if d.settings.ExpireNodestConn {
		d.expireNodestConns()
	}
	return nil
}

func (d *Director) trashDest(dst *Dest) {
	dst.trashedAt = 0
	d.trash = append(d.trash, dst)
}

// trashIdle is how long an unreferenced dest stays in the trash: the
// kernel frees it 120-180 s after its last reference went (checked every
// 60 s, freed after IP_VS_DEST_TRASH_PERIOD of idleness); we use the middle.
const trashIdle = 150 * time.Second

func (d *Director) trashGet(s *Service, af Family, a addr16, port uint16) *Dest {
	for i, x := range d.trash {
		if x.af != af || x.addr != a || x.port != port || x.svcKey.FWMark != s.key.FWMark ||
			x.svcKey.Protocol != s.key.Protocol {
			continue
		}
		if s.key.FWMark == 0 && (pack(x.svcKey.Addr) != s.vaddr || x.svcKey.Port != s.key.Port) {
			continue
		}
		d.trash = append(d.trash[:i], d.trash[i+1:]...)
		return x
	}
	return nil
}

// sweepTrash frees trashed dests idle long enough (ip_vs_ctl.c:
// ip_vs_dest_trash_expire). Called with d.mu held.
func (d *Director) sweepTrash(now Time) {
	kept := d.trash[:0]
	for _, x := range d.trash {
		if x.totalConns.Load()+x.persistConns.Load() > 0 { // entries bound to it
			x.trashedAt = 0
			kept = append(kept, x)
			continue
		}
		if x.trashedAt == 0 {
			x.trashedAt = now
		}
		if now.Sub(x.trashedAt) < trashIdle {
			kept = append(kept, x)
		}
	}
	for i := len(kept); i < len(d.trash); i++ {
		d.trash[i] = nil
	}
	d.trash = kept
}

// Zero resets the statistics of one service (k != nil) or of all services
// and the totals (ip_vs_ctl.c: ip_vs_zero_service, ip_vs_zero_all).
func (d *Director) Zero(k *ServiceKey) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if k != nil {
		s := d.lookupService(*k)
		if s == nil {
			return ErrNoService
		}
		s.zero()
		return nil
	}
	for _, s := range d.servicesLocked() {
		s.zero()
	}
	d.stats.zeroStats()
	return nil
}

func (s *Service) zero() {
	for _, x := range s.dests {
		x.stats.zeroStats()
	}
	s.stats.zeroStats()
}

// SetTimeouts sets the TCP ESTABLISHED, TCP FIN_WAIT and UDP timeouts; a
// zero field leaves that timeout unchanged (ip_vs_ctl.c: ip_vs_set_timeout).
func (d *Director) SetTimeouts(t Timeouts) error {
	if t.TCP < 0 || t.TCPFin < 0 || t.UDP < 0 {
		return fmt.Errorf("%w: negative timeout", ErrInvalid)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if t.TCP != 0 {
		d.tcpTimeouts[TCPEstablished] = t.TCP
	}
	if t.TCPFin != 0 {
		d.tcpTimeouts[TCPFinWait] = t.TCPFin
	}
	if t.UDP != 0 {
		d.udpTimeout = t.UDP
	}
	return nil
}

// Timeouts returns the TCP ESTABLISHED, TCP FIN_WAIT and UDP timeouts.
func (d *Director) Timeouts() Timeouts {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return Timeouts{TCP: d.tcpTimeouts[TCPEstablished], TCPFin: d.tcpTimeouts[TCPFinWait], UDP: d.udpTimeout}
}

// Services returns a snapshot of every service, sorted by identity, with
// dests in list order.
func (d *Director) Services() []ServiceInfo {
	d.mu.RLock()
	defer d.mu.RUnlock()
	svcs := d.servicesLocked()
	out := make([]ServiceInfo, 0, len(svcs))
	for _, s := range svcs {
		out = append(out, s.info())
	}
	return out
}

// Service returns a snapshot of one service.
func (d *Director) Service(k ServiceKey) (ServiceInfo, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	s := d.lookupService(k)
	if s == nil {
		return ServiceInfo{}, ErrNoService
	}
	return s.info(), nil
}

func (s *Service) info() ServiceInfo {
	si := ServiceInfo{
		ServiceConfig: ServiceConfig{
			ServiceKey: s.key,
			Flags:      s.flags &^ SvcHashed,
			Timeout:    s.timeoutSec,
			Netmask:    s.netmask,
			NetmaskSet: true,
			PE:         s.pe,
		},
		Stats: s.stats.info(),
	}
	si.Scheduler = s.schedName
	for _, x := range s.dests {
		si.Dests = append(si.Dests, x.info())
	}
	return si
}

func (x *Dest) info() DestInfo {
	return DestInfo{
		DestConfig: DestConfig{
			Addr: x.Addr(), Port: x.port, Method: x.method, Weight: x.weight.Load(),
			UThreshold: x.uThreshold, LThreshold: x.lThreshold,
			TunType: x.tunType, TunPort: x.tunPort, TunFlags: x.tunFlags,
		},
		Family:       x.af,
		ActiveConns:  uint32(x.activeConns.Load()),
		InactConns:   uint32(x.InactConns()),
		PersistConns: uint32(x.persistConns.Load()),
		Overloaded:   x.overload.Load(),
		Stats:        x.stats.info(),
	}
}

// TotalStats returns the director-wide statistics (/proc/net/ip_vs_stats).
func (d *Director) TotalStats() StatsInfo {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.stats.info()
}

// Conns returns a snapshot of the connection table, in creation order.
func (d *Director) Conns(now Time) []ConnInfo {
	// Held for reading: Advance may not free and reuse an entry meanwhile.
	d.mu.RLock()
	defer d.mu.RUnlock()
	var out []ConnInfo
	d.tab.forEach(func(c *Conn) {
		ci := c.info(now)
		if pe := d.tab.peOf(c); pe != nil {
			ci.PEName, ci.PEData = pe.name, pe.data
		}
		out = append(out, ci)
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// ConnCount returns the number of entries in the connection table
// (templates included).
func (d *Director) ConnCount() int { return int(d.tab.len()) }

// Refused returns how many new entries were refused because the table was
// at Settings.MaxConns.
func (d *Director) Refused() uint64 { return d.tab.refused.Load() }
