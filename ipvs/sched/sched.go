// Package sched implements the Linux kernel's IPVS schedulers
// (net/netfilter/ipvs/ip_vs_{rr,wrr,lc,wlc,sed,nq,fo,ovf,lblc,lblcr,dh,sh,mh,twos}.c,
// Linux 6.1) behind the [ipvs.Scheduler] interface.
//
// Every scheduler is a transcription of its kernel file: the same walk over
// the service's destination list (newest first), the same arithmetic (the
// kernel's int overflow included), the same tie-breaking. Schedulers that keep
// state implement [ipvs.DestObserver] (the kernel's add_dest, del_dest and
// upd_dest hooks) and an InitService(*ipvs.Service) method (the kernel's
// init_service), which the core calls when it binds the scheduler to a
// service.
//
// A freshly made scheduler is in the state the kernel's init_service leaves on
// a service without destinations, so a core that binds at service creation
// and then reports every destination through the hooks needs no InitService
// call. A scheduler that is asked to schedule before it was ever initialised
// or notified initialises itself from the service's current list.
//
// Nothing here starts a goroutine or reads a clock: the lblc and lblcr garbage
// collection, a kernel timer, runs lazily from Schedule on the caller's time.
// Scheduling decisions do not allocate, except that lblc and lblcr allocate a
// cache entry for a new destination address when no collected entry is left
// to reuse (where the kernel calls kmalloc).
package sched

import (
	"fmt"
	mrand "math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/golvs/golvs/ipvs"
)

// constructors is the table of scheduler names (the kernel's list of
// registered schedulers, ip_vs_sched.c: register_ip_vs_scheduler).
var constructors = map[string]func(o *options) ipvs.Scheduler{
	"rr":    func(*options) ipvs.Scheduler { return &rr{} },
	"wrr":   func(*options) ipvs.Scheduler { return &wrr{} },
	"lc":    func(*options) ipvs.Scheduler { return lc{} },
	"wlc":   func(*options) ipvs.Scheduler { return wlc{} },
	"sed":   func(*options) ipvs.Scheduler { return sed{} },
	"nq":    func(*options) ipvs.Scheduler { return nq{} },
	"fo":    func(*options) ipvs.Scheduler { return fo{} },
	"ovf":   func(*options) ipvs.Scheduler { return ovf{} },
	"lblc":  func(*options) ipvs.Scheduler { return &lblc{} },
	"lblcr": func(*options) ipvs.Scheduler { return &lblcr{} },
	"dh":    func(*options) ipvs.Scheduler { return &dh{} },
	"sh":    func(*options) ipvs.Scheduler { return &sh{} },
	"mh":    func(*options) ipvs.Scheduler { return &mh{} },
	"twos":  func(o *options) ipvs.Scheduler { return &twos{rand: o.rand} },
}

// Option configures the schedulers made by [NewWith] and [Factory].
type Option func(*options)

type options struct {
	// rand is the 32-bit random source of twos (the kernel's get_random_u32).
	rand func() uint32
}

// WithRand makes twos draw its random numbers from f, which must return
// uniformly distributed 32-bit values (the kernel's get_random_u32 behind
// prandom_u32_max in ip_vs_twos.c: ip_vs_twos_schedule). f is called with
// the service's scheduler lock held, twice per decision. The default is
// math/rand/v2's global generator.
func WithRand(f func() uint32) Option {
	return func(o *options) { o.rand = f }
}

// New returns a new instance of the kernel scheduler called name ("rr",
// "wlc", ...), in the state of the kernel's init_service on a service without
// destinations (ip_vs_sched.c: ip_vs_bind_scheduler). An unknown name gives an
// error wrapping [ipvs.ErrSchedulerNotFound] (the kernel's ENOENT from
// ip_vs_sched.c: ip_vs_scheduler_get). New is an [ipvs.SchedulerFactory].
func New(name string) (ipvs.Scheduler, error) {
	return NewWith(name)
}

// NewWith is [New] with options (for instance [WithRand] for twos).
func NewWith(name string, opts ...Option) (ipvs.Scheduler, error) {
	mk, ok := constructors[name]
	if !ok {
		return nil, fmt.Errorf("sched: unknown scheduler %q: %w", name, ipvs.ErrSchedulerNotFound)
	}
	o := options{rand: mrand.Uint32}
	for _, f := range opts {
		f(&o)
	}
	return mk(&o), nil
}

// Factory returns an [ipvs.SchedulerFactory] that makes schedulers with the
// given options.
func Factory(opts ...Option) ipvs.SchedulerFactory {
	return func(name string) (ipvs.Scheduler, error) { return NewWith(name, opts...) }
}

// Names returns the names of all schedulers, sorted.
func Names() []string {
	names := make([]string, 0, len(constructors))
	for n := range constructors {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// initer is what the core looks for to run the kernel's init_service.
type initer interface{ InitService(s *ipvs.Service) }

// Every stateful scheduler has init_service and the dest hooks.
var (
	_ initer            = (*rr)(nil)
	_ initer            = (*wrr)(nil)
	_ initer            = (*lblc)(nil)
	_ initer            = (*lblcr)(nil)
	_ initer            = (*dh)(nil)
	_ initer            = (*sh)(nil)
	_ initer            = (*mh)(nil)
	_ ipvs.DestObserver = (*rr)(nil)
	_ ipvs.DestObserver = (*wrr)(nil)
	_ ipvs.DestObserver = (*dh)(nil)
	_ ipvs.DestObserver = (*sh)(nil)
	_ ipvs.DestObserver = (*mh)(nil)

	// Every scheduler whose decision has no side effect can preview it
	// for the core's Explain; twos (it draws random numbers), lblc and
	// lblcr (the decision updates the cache) cannot.
	_ ipvs.Previewer = (*rr)(nil)
	_ ipvs.Previewer = (*wrr)(nil)
	_ ipvs.Previewer = lc{}
	_ ipvs.Previewer = wlc{}
	_ ipvs.Previewer = sed{}
	_ ipvs.Previewer = nq{}
	_ ipvs.Previewer = fo{}
	_ ipvs.Previewer = ovf{}
	_ ipvs.Previewer = (*dh)(nil)
	_ ipvs.Previewer = (*sh)(nil)
	_ ipvs.Previewer = (*mh)(nil)
)

// hash32 is include/linux/hash.h: hash_32 (the generic __hash_32):
// multiplication by GOLDEN_RATIO_32 modulo 2^32, keeping the top bits.
func hash32(val uint32, bits uint) uint32 {
	return (val * 0x61C88647) >> (32 - bits)
}

// gcd is lib/math/gcd.c: gcd for the positive weights of wrr and mh.
func gcd(a, b int32) int32 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// overhead is include/net/ip_vs.h: ip_vs_dest_conn_overhead,
// activeconns*256 + totalconns, as the kernel's int (wrapping).
func overhead(d *ipvs.Dest) int32 {
	return int32(d.Overhead())
}

// sedOverhead is ip_vs_sed.c: ip_vs_sed_dest_overhead (and
// ip_vs_nq.c: ip_vs_nq_dest_overhead): activeconns + 1.
func sedOverhead(d *ipvs.Dest) int32 {
	return d.ActiveConns() + 1
}

// leastLoaded is the weighted least-connection walk that the kernel repeats
// in ip_vs_wlc.c: ip_vs_wlc_schedule, ip_vs_sed.c: ip_vs_sed_schedule,
// ip_vs_lblc.c: __ip_vs_lblc_schedule and ip_vs_lblcr.c:
// __ip_vs_lblcr_schedule. The first dest that is not OVERLOADED and has
// weight > 0 is the initial candidate; every later dest that is not
// OVERLOADED replaces it when cand.load*d.weight > d.load*cand.weight in
// 64 bits (strict: ties keep the earlier, newer dest). Loads are the kernel's
// ints: activeconns+1 for sed, the connection overhead otherwise.
func leastLoaded(ds []*ipvs.Dest, sedLoad bool) *ipvs.Dest {
	load := func(d *ipvs.Dest) int64 {
		if sedLoad {
			return int64(sedOverhead(d))
		}
		return int64(overhead(d))
	}
	i := 0
	var least *ipvs.Dest
	for ; i < len(ds); i++ {
		if d := ds[i]; !d.Overloaded() && d.Weight() > 0 {
			least = d
			break
		}
	}
	if least == nil {
		return nil
	}
	loh, lw := load(least), int64(least.Weight())
	for i++; i < len(ds); i++ {
		d := ds[i]
		if d.Overloaded() {
			continue
		}
		doh, dw := load(d), int64(d.Weight())
		if loh*dw > doh*lw {
			least, loh, lw = d, doh, dw
		}
	}
	return least
}

// locOverloaded is is_overloaded of ip_vs_lblc.c and ip_vs_lblcr.c: d has
// more active connections than its weight and some dest of the service has
// fewer than half its weight (int arithmetic, as the kernel).
func locOverloaded(d *ipvs.Dest, ds []*ipvs.Dest) bool {
	if d.ActiveConns() <= d.Weight() {
		return false
	}
	for _, x := range ds {
		if x.ActiveConns()*2 < x.Weight() {
			return true
		}
	}
	return false
}

// hashPort is ip_vs_sh.c: ip_vs_sh_get_port and ip_vs_mh.c:
// ip_vs_mh_get_port: the client's source port for TCP, UDP and SCTP, else 0.
// The core passes the client's addresses in Src/SrcPort (the kernel's
// non-inverse case).
func hashPort(p *ipvs.Packet) uint16 {
	switch p.Protocol {
	case ipvs.ProtoTCP, ipvs.ProtoUDP, ipvs.ProtoSCTP:
		return p.SrcPort
	}
	return 0
}

// The lblc and lblcr caches: ip_vs_lblc.c and ip_vs_lblcr.c keep the same
// hash table of "destination address -> server(s)" entries with the same
// periodic garbage collection; locCache holds that shared part.
const (
	locTabBits   = 10                 // CONFIG_IP_VS_LBLC_TAB_BITS, CONFIG_IP_VS_LBLCR_TAB_BITS
	locTabSize   = 1 << locTabBits    // IP_VS_LBLC_TAB_SIZE
	locTabMask   = locTabSize - 1     // IP_VS_LBLC_TAB_MASK
	locMaxSize   = locTabSize * 16    // tbl->max_size
	locHardLimit = locMaxSize * 3 / 2 // no new entries at this many

	locCheckInterval = 60 * time.Second     // CHECK_EXPIRE_INTERVAL
	locEntryTimeout  = 6 * 60 * time.Second // ENTRY_TIMEOUT
	locFullEvery     = 30                   // COUNT_FOR_FULL_EXPIRATION
)

// locEntry is struct ip_vs_lblc_entry / ip_vs_lblcr_entry.
type locEntry[V any] struct {
	next    *locEntry[V]
	key     [16]byte // the destination address (IPv4 as v4-mapped)
	lastuse ipvs.Time
	val     V
}

// locCache is struct ip_vs_lblc_table / ip_vs_lblcr_table with its periodic
// timer (ip_vs_lblc_check_expire, ip_vs_lblcr_check_expire) turned into a
// deadline that [locCache.advance] catches up with.
type locCache[V any] struct {
	bucket  [locTabSize]*locEntry[V]
	entries int
	rover   int
	counter int
	// started tells whether the timer is armed; nextGC is its deadline.
	started bool
	nextGC  ipvs.Time
	// minUse is a lower bound of every entry's lastuse, to skip full checks
	// that cannot remove anything.
	minUse ipvs.Time
	// free holds unlinked entries for reuse.
	free *locEntry[V]
	// clear empties an entry's value before reuse (drops dest references).
	clear func(*V)
}

// reset is init_service: an empty table, rover 0, counter 1, timer not armed
// until the first decision gives it a time.
func (c *locCache[V]) reset() {
	for i := range c.bucket {
		for e := c.bucket[i]; e != nil; {
			n := e.next
			c.release(e)
			e = n
		}
		c.bucket[i] = nil
	}
	c.entries, c.rover, c.counter, c.started = 0, 0, 1, false
}

// locKey is the hash bucket and the key of a destination address
// (ip_vs_lblc.c: ip_vs_lblc_hashkey, ip_vs_addr_equal).
func locKey(a netip.Addr) (int, [16]byte) {
	return int(hash32(ipvs.AddrHash(a), locTabBits)), a.As16()
}

// get is ip_vs_lblc_get / ip_vs_lblcr_get.
func (c *locCache[V]) get(h int, key [16]byte) *locEntry[V] {
	for e := c.bucket[h]; e != nil; e = e.next {
		if e.key == key {
			return e
		}
	}
	return nil
}

// touch sets an entry's lastuse.
func (c *locCache[V]) touch(e *locEntry[V], now ipvs.Time) {
	e.lastuse = now
	if now < c.minUse {
		c.minUse = now
	}
}

// insert hashes a new entry at the head of its bucket (ip_vs_lblc_hash),
// with lastuse now. The caller checked the hard limit.
func (c *locCache[V]) insert(h int, key [16]byte, now ipvs.Time) *locEntry[V] {
	e := c.free
	if e != nil {
		c.free = e.next
	} else {
		e = new(locEntry[V])
	}
	e.key = key
	if c.entries == 0 || now < c.minUse {
		c.minUse = now
	}
	e.lastuse = now
	e.next = c.bucket[h]
	c.bucket[h] = e
	c.entries++
	return e
}

// remove unlinks e from bucket h (ip_vs_lblc_del).
func (c *locCache[V]) remove(h int, e *locEntry[V]) {
	for pp := &c.bucket[h]; *pp != nil; pp = &(*pp).next {
		if *pp == e {
			*pp = e.next
			c.entries--
			c.release(e)
			return
		}
	}
}

func (c *locCache[V]) release(e *locEntry[V]) {
	if c.clear != nil {
		c.clear(&e.val)
	}
	e.next = c.free
	c.free = e
}

// sweep removes the expired entries of bucket j: those with
// now >= lastuse + timeout (!time_before(now, lastuse + timeout)). It
// returns how many were removed.
func (c *locCache[V]) sweep(j int, now ipvs.Time, timeout time.Duration) int {
	n := 0
	for pp := &c.bucket[j]; *pp != nil; {
		e := *pp
		if now < e.lastuse.Add(timeout) {
			pp = &e.next
			continue
		}
		*pp = e.next
		c.entries--
		c.release(e)
		n++
	}
	return n
}

// fullCheck is ip_vs_lblc_full_check / ip_vs_lblcr_full_check: every bucket,
// starting after the rover, loses the entries unused for the expiration.
func (c *locCache[V]) fullCheck(now ipvs.Time, exp time.Duration) {
	if now < c.minUse.Add(exp) {
		// Nothing can be removed; the kernel's walk would end where it
		// began (tbl->rover is unchanged by a full turn).
		return
	}
	j := c.rover
	for range locTabSize {
		j = (j + 1) & locTabMask
		c.sweep(j, now, exp)
	}
	c.rover = j
	c.minUse = now
	for _, e := range c.bucket {
		for ; e != nil; e = e.next {
			c.minUse = min(c.minUse, e.lastuse)
		}
	}
}

// tick is one run of the periodic timer at time now
// (ip_vs_lblc.c: ip_vs_lblc_check_expire, ip_vs_lblcr.c:
// ip_vs_lblcr_check_expire).
func (c *locCache[V]) tick(now ipvs.Time, exp time.Duration) {
	if c.counter%locFullEvery == 0 {
		c.fullCheck(now, exp)
		c.counter = 1
		return
	}
	if c.entries <= locMaxSize {
		c.counter++
		return
	}
	goal := (c.entries - locMaxSize) * 4 / 3
	if goal > locMaxSize/2 {
		goal = locMaxSize / 2
	}
	j := c.rover
	for range locTabSize {
		j = (j + 1) & locTabMask
		goal -= c.sweep(j, now, locEntryTimeout)
		if goal <= 0 {
			break
		}
	}
	c.rover = j
}

// advance runs every timer tick due at or before now. The kernel arms the
// timer CHECK_EXPIRE_INTERVAL after init_service and re-arms it the same
// interval after each run; here it is armed by the first decision (there is
// nothing to collect before one), and ticks that can only count are skipped
// in one step, which leaves the same state.
func (c *locCache[V]) advance(now ipvs.Time, exp time.Duration) {
	if !c.started {
		c.started = true
		if c.counter == 0 {
			c.counter = 1
		}
		c.nextGC = now.Add(locCheckInterval)
		return
	}
	for c.nextGC <= now {
		due := int64(now.Sub(c.nextGC)/locCheckInterval) + 1 // ticks at or before now
		switch {
		case c.entries == 0:
			// Empty table: a full check removes nothing, so the counter
			// just cycles 1..30.
			c.counter = int((int64(c.counter-1)+due)%locFullEvery) + 1
			c.nextGC = c.nextGC.Add(time.Duration(due) * locCheckInterval)
		case c.counter%locFullEvery != 0 && c.entries <= locMaxSize:
			// Ticks that only count up to the next full check.
			k := min(due, int64(locFullEvery-c.counter%locFullEvery))
			c.counter += int(k)
			c.nextGC = c.nextGC.Add(time.Duration(k) * locCheckInterval)
		default:
			c.tick(c.nextGC, exp)
			c.nextGC = c.nextGC.Add(locCheckInterval)
		}
	}
}
