// Package proxy is golvs's user-space data plane: a TCP and UDP director
// whose every decision is made by the core (package ipvs).
//
// Each accepted TCP connection and each UDP datagram is run through
// [ipvs.Director.Process] as the packets the kernel's IPVS would have seen:
// a TCP client connection is a SYN from the client to the virtual address;
// the real server's answer to the connect is a SYN|ACK from the real server;
// the relay's data and half-closes are ACKs and FINs. So the core's counters,
// connection states, timeouts and persistence templates evolve as in IPVS,
// and an entry that the core expires closes its relay.
//
// The proxy is a full-NAT director: it connects to the real server from its
// own address (optionally with a PROXY protocol header, or from the client's
// own address in transparent mode on Linux). Real servers' forwarding
// methods are not used for transmission; they only decide, as in the
// kernel, which packets the director sees: replies are fed to the core for
// NAT (masquerading) real servers only.
//
// On Linux, TCP is served by event loops as HAProxy does it (one goroutine
// per GOMAXPROCS on its own epoll set, non-blocking sockets, no goroutine per
// connection, small messages through the loop's buffer, splice for bulk,
// adaptive busy polling under load); elsewhere by a goroutine per
// connection.
//
// What differs from the kernel: a relay reports its data to the core in
// batches (on Linux at most once a jiffy per flow direction, per
// Options.ChunkSize bytes and with the FIN; elsewhere per chunk, or at least
// every half of the shortest data timeout), so the core's packet counts are
// batch counts and its byte counts lag; a refused or dropped connection is reset,
// where the kernel would send ICMP unreachable or stay silent; UDP services
// are served on Linux only, and without TPROXY.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golvs/golvs/ipvs"
)

// Clock reads the time the proxy gives the core.
type Clock interface {
	Now() ipvs.Time
}

type monoClock struct{ base time.Time }

// Now returns the time since the clock's base on the monotonic clock, plus
// one second so that it is never zero.
func (c monoClock) Now() ipvs.Time { return ipvs.Time(time.Since(c.base) + time.Second) }

// SystemClock is the monotonic system clock, shared by every user in the
// process so that a director driven from several places sees one time line.
var SystemClock Clock = monoClock{base: time.Now()}

// Options configure a [Proxy]. The zero value is usable.
type Options struct {
	// Clock is the time given to the core; nil means SystemClock.
	Clock Clock
	// Tick is the period of the timer sweep (Director.Advance, expiry of
	// relays and UDP sessions); 0 means one second.
	Tick time.Duration
	// DialTimeout bounds the connect to a real server; 0 means 10 s.
	DialTimeout time.Duration
	// ProxyProtocol sends a PROXY protocol header of this version (1 or 2)
	// to real servers at the start of every TCP connection; 0 sends none.
	ProxyProtocol int
	// Transparent connects to real servers from the client's address
	// (IP_TRANSPARENT; Linux only, needs CAP_NET_ADMIN and policy routing
	// that delivers the real servers' replies locally).
	Transparent bool
	// ChunkSize is how many bytes a TCP relay moves at most between two
	// reports to the core; 0 means 1 MiB. A relay also reports at least
	// every half timeout (on Linux, the first data of every jiffy), so slow
	// flows keep their entries alive.
	ChunkSize int64
	// BusyPoll is how long an idle event loop (Linux) polls for events
	// before it parks, as long as events have come closer together than
	// that: under load it saves a wake-up per burst, at the price of some
	// CPU time; 0 means 50 µs, a negative value never polls. A loop with
	// many flows spaces its polls 25 µs apart at least (see loop_linux.go).
	BusyPoll time.Duration
	// Logf, if set, receives unusual events (accept errors, refused
	// connects are counted but not logged).
	Logf func(format string, args ...any)
}

// Service is a virtual service the proxy serves: the core's service key
// and where to receive its traffic.
type Service struct {
	// Key is the core's service: an address service (TCP or UDP), or a
	// fwmark service (served over TCP).
	Key ipvs.ServiceKey
	// Listen is the local address to listen on; the zero value means
	// Key's address and port. Required for fwmark services and port-zero
	// services.
	Listen netip.AddrPort
	// TPROXY makes the listener transparent (IP_TRANSPARENT, Linux only):
	// it receives connections that an nftables/iptables TPROXY rule sends
	// it; each connection's original destination is its local address and
	// its mark is read from the socket (SO_MARK, which needs
	// net.ipv4.tcp_fwmark_accept=1). Without a socket mark, a fwmark
	// service's listener uses the service's mark.
	TPROXY bool
}

func (s Service) listenAddr() netip.AddrPort {
	if s.Listen.IsValid() {
		return netip.AddrPortFrom(s.Listen.Addr().Unmap(), s.Listen.Port())
	}
	return netip.AddrPortFrom(s.Key.Addr.Unmap(), s.Key.Port)
}

func (s Service) protocol() uint8 {
	if s.Key.FWMark != 0 {
		return ipvs.ProtoTCP
	}
	return s.Key.Protocol
}

func (s Service) validate() error {
	switch s.protocol() {
	case ipvs.ProtoTCP, ipvs.ProtoUDP:
	default:
		return fmt.Errorf("proxy: service %v: protocol %d not served", s.Key, s.Key.Protocol)
	}
	la := s.listenAddr()
	if !la.Addr().IsValid() || la.Port() == 0 {
		return fmt.Errorf("proxy: service %v: no listen address", s.Key)
	}
	if s.protocol() == ipvs.ProtoUDP && s.TPROXY {
		return fmt.Errorf("proxy: service %v: TPROXY is served for TCP only", s.Key)
	}
	return nil
}

// ServicesOf returns the address services (TCP and UDP) of a director
// listing, each listening on its virtual address and port. Fwmark and
// port-zero services need a listen address and are left out.
func ServicesOf(infos []ipvs.ServiceInfo) []Service {
	var out []Service
	for _, si := range infos {
		k := si.ServiceKey
		if k.FWMark != 0 || k.Port == 0 || (k.Protocol != ipvs.ProtoTCP && k.Protocol != ipvs.ProtoUDP) {
			continue
		}
		out = append(out, Service{Key: k})
	}
	return out
}

// Counters are the proxy's counters, for metrics.
type Counters struct {
	// Accepted counts TCP client connections accepted.
	Accepted uint64
	// Forwarded counts TCP connections relayed to a real server.
	Forwarded uint64
	// Rejected counts TCP connections reset because the core did not
	// forward them (no service, no real server, drop, table full).
	Rejected uint64
	// DialErrors counts failed connects to real servers.
	DialErrors uint64
	// Expired counts relays closed because their core entry went away
	// (idle timeout, real server deleted).
	Expired uint64
	// Errors counts other failures: accept errors, relay I/O errors.
	Errors uint64
	// ActiveFlows is the number of TCP relays now.
	ActiveFlows int64
	// BytesIn and BytesOut count payload bytes relayed from clients and
	// from real servers (TCP and UDP).
	BytesIn, BytesOut uint64
	// UDPIn and UDPOut count datagrams relayed each way; UDPDropped counts
	// datagrams the core did not forward or that could not be sent.
	UDPIn, UDPOut, UDPDropped uint64
	// UDPSessions is the number of UDP sessions now.
	UDPSessions int64
}

type counters struct {
	accepted, forwarded, rejected, dialErrors, expired, errors atomic.Uint64
	activeFlows                                                atomic.Int64
	bytesIn, bytesOut                                          atomic.Uint64
	udpIn, udpOut, udpDropped                                  atomic.Uint64
	udpSessions                                                atomic.Int64
}

// Proxy is a running data plane for one director.
type Proxy struct {
	d     *ipvs.Director
	opts  Options
	clock Clock

	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	tcp     map[netip.AddrPort]*tcpListener
	udp     map[netip.AddrPort]*udpService
	flowsMu sync.Mutex
	flows   map[*tcpFlow]struct{}
	flowWG  sync.WaitGroup
	wg      sync.WaitGroup
	stop    chan struct{}

	// loops are the Linux engine's event loops; without them (other
	// systems) TCP is served a goroutine per connection.
	loops []*evloop

	lastAdvance atomic.Int64
	timeouts    atomic.Pointer[ipvs.Timeouts]
	cnt         counters
}

// New returns a proxy for d and starts its timer sweep. It serves no
// service until [Proxy.Sync].
func New(d *ipvs.Director, opts Options) *Proxy {
	if opts.Clock == nil {
		opts.Clock = SystemClock
	}
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 10 * time.Second
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 1 << 20
	}
	if opts.BusyPoll == 0 {
		opts.BusyPoll = 50 * time.Microsecond
	}
	p := &Proxy{
		d:     d,
		opts:  opts,
		clock: opts.Clock,
		tcp:   make(map[netip.AddrPort]*tcpListener),
		udp:   make(map[netip.AddrPort]*udpService),
		flows: make(map[*tcpFlow]struct{}),
		stop:  make(chan struct{}),
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	if useLoops {
		if err := p.startLoops(); err != nil {
			p.logf("proxy: event loops: %v; serving TCP a goroutine per connection", err)
		}
	}
	t := d.Timeouts()
	p.timeouts.Store(&t)
	p.wg.Add(1)
	go p.loop()
	return p
}

func (p *Proxy) logf(format string, args ...any) {
	if p.opts.Logf != nil {
		p.opts.Logf(format, args...)
	}
}

// Counters returns a snapshot of the counters.
func (p *Proxy) Counters() Counters {
	c := &p.cnt
	return Counters{
		Accepted: c.accepted.Load(), Forwarded: c.forwarded.Load(), Rejected: c.rejected.Load(),
		DialErrors: c.dialErrors.Load(), Expired: c.expired.Load(), Errors: c.errors.Load(),
		ActiveFlows: c.activeFlows.Load(), BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(),
		UDPIn: c.udpIn.Load(), UDPOut: c.udpOut.Load(), UDPDropped: c.udpDropped.Load(),
		UDPSessions: c.udpSessions.Load(),
	}
}

// ErrClosed is returned by Sync after Close or Shutdown.
var ErrClosed = errors.New("proxy: closed")

// Sync makes the proxy serve exactly services: listeners of services not
// served yet are opened, those of services no longer listed are closed.
// Established TCP relays and UDP sessions of removed services go on until
// they end or their core entries expire (a removed UDP service keeps its
// socket until its last session ends). It returns the errors of the
// listeners it could not open; the others are served.
func (p *Proxy) Sync(services []Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	var errs []error
	wantTCP := make(map[netip.AddrPort]Service)
	wantUDP := make(map[netip.AddrPort]Service)
	for _, s := range services {
		if err := s.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		want := wantTCP
		if s.protocol() == ipvs.ProtoUDP {
			want = wantUDP
		}
		la := s.listenAddr()
		if o, dup := want[la]; dup {
			errs = append(errs, fmt.Errorf("proxy: services %v and %v both listen on %v", o.Key, s.Key, la))
			continue
		}
		want[la] = s
	}
	for la, l := range p.tcp {
		if s, ok := wantTCP[la]; !ok || s.TPROXY != l.tproxy {
			l.close()
			delete(p.tcp, la)
		}
	}
	for la, s := range wantTCP {
		if l := p.tcp[la]; l != nil {
			l.svc.Store(&s)
			continue
		}
		l, err := p.listenTCP(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.tcp[la] = l
	}
	for la, u := range p.udp {
		if _, ok := wantUDP[la]; !ok {
			u.draining.Store(true)
		}
	}
	for la, s := range wantUDP {
		if u := p.udp[la]; u != nil {
			u.svc.Store(&s)
			u.draining.Store(false)
			continue
		}
		u, err := p.listenUDP(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.udp[la] = u
	}
	return errors.Join(errs...)
}

// now reads the clock and, at most once a jiffy, advances the director so
// that timers due before a packet fire before it is processed, as the
// kernel's timers do.
func (p *Proxy) now() ipvs.Time {
	now := p.clock.Now()
	last := p.lastAdvance.Load()
	if now.Sub(ipvs.Time(last)) >= ipvs.Jiffy && p.lastAdvance.CompareAndSwap(last, int64(now)) {
		p.d.Advance(now)
	}
	return now
}

// process runs one packet through the core.
func (p *Proxy) process(pkt *ipvs.Packet, now ipvs.Time) ipvs.Result {
	return p.d.Process(pkt, now)
}

func (p *Proxy) loop() {
	defer p.wg.Done()
	t := time.NewTicker(p.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.Sweep()
		}
	}
}

// Sweep runs one tick of the timer sweep now: it advances the director to
// the clock's time, closes the relays and UDP sessions whose core entries
// are gone and UDP services that finished draining. The proxy runs it every
// Options.Tick; tests with a manual clock call it after moving the clock.
func (p *Proxy) Sweep() {
	now := p.clock.Now()
	p.d.Advance(now)
	if now > ipvs.Time(p.lastAdvance.Load()) {
		p.lastAdvance.Store(int64(now))
	}
	t := p.d.Timeouts()
	p.timeouts.Store(&t)
	p.sweepTCP(now)
	p.sweepLoops(now)
	p.mu.Lock()
	for la, u := range p.udp {
		if u.sweep(now) {
			delete(p.udp, la)
		}
	}
	p.mu.Unlock()
}

// alive asks the core whether the entry of a connection from client to
// virtual is still in the table and bound to dest; it returns the time it
// has left. The core has no direct accessor for this yet, so it asks
// Explain about a packet of the connection, which changes nothing.
func (p *Proxy) alive(proto uint8, mark uint32, client, virtual, dest netip.AddrPort, now ipvs.Time) (bool, time.Duration) {
	pkt := ipvs.Packet{
		Protocol: proto, Src: client.Addr(), SrcPort: client.Port(),
		Dst: virtual.Addr(), DstPort: virtual.Port(), Mark: mark, Dir: ipvs.DirIn,
		TCPFlags: ipvs.TCPAck,
	}
	ex := p.d.Explain(pkt, now)
	if ex.Existing == nil || ex.Existing.Dest != dest {
		return false, 0
	}
	return true, ex.Existing.Expires
}

// Close stops serving at once: listeners and UDP sockets are closed and
// every relay is reset.
func (p *Proxy) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p.Shutdown(ctx)
	return nil
}

// Shutdown stops accepting, waits until the TCP relays end or ctx is done,
// then closes everything (relays still open are reset). It returns ctx's
// error when relays had to be reset.
func (p *Proxy) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return nil
	}
	p.closed = true
	for la, l := range p.tcp {
		l.close()
		delete(p.tcp, la)
	}
	p.mu.Unlock()

	done := make(chan struct{})
	go func() { p.flowWG.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	p.cancel()
	close(p.stop)
	p.flowsMu.Lock()
	for f := range p.flows {
		f.abort()
	}
	p.flowsMu.Unlock()
	p.abortLoops()
	<-done
	p.stopLoops()
	p.mu.Lock()
	for la, u := range p.udp {
		u.close()
		delete(p.udp, la)
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}
