package proxy

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/golvs/golvs/dataplane/proxyproto"
	"github.com/golvs/golvs/ipvs"
)

type tcpListener struct {
	p      *Proxy
	svc    atomic.Pointer[Service]
	tproxy bool
	done   chan struct{}
	addr   netip.AddrPort

	// The goroutine engine's listener.
	ln *net.TCPListener

	// The Linux engine's: the socket, whether an accepted connection's local
	// address is the listener's, and its registration in each loop (used
	// on that loop only).
	fd         int
	fixedLocal bool
	eps        []*endpoint
}

func (p *Proxy) listenTCP(s Service) (*tcpListener, error) {
	if len(p.loops) > 0 {
		return p.listenTCPLoop(s)
	}
	return p.listenTCPStd(s)
}

// listenTCPStd listens for the goroutine engine: a goroutine per connection
// and one more per relay direction, Go's netpoller, io.Copy (splice).
func (p *Proxy) listenTCPStd(s Service) (*tcpListener, error) {
	la := s.listenAddr()
	network := "tcp4"
	if la.Addr().Is6() {
		network = "tcp6"
	}
	// No TCP keepalives: the core's timeouts govern idle flows, as in
	// IPVS, and each keepalive option costs system calls per connection.
	lc := net.ListenConfig{KeepAlive: -1}
	if s.TPROXY {
		lc.Control = transparentControl
	}
	ln, err := lc.Listen(p.ctx, network, la.String())
	if err != nil {
		return nil, err
	}
	l := &tcpListener{p: p, ln: ln.(*net.TCPListener), addr: la, fd: -1, tproxy: s.TPROXY, done: make(chan struct{})}
	l.svc.Store(&s)
	p.wg.Add(1)
	go l.serve()
	return l, nil
}

func (l *tcpListener) close() {
	if l.ln == nil {
		l.closeLoop()
		return
	}
	l.ln.Close()
	<-l.done
}

func (l *tcpListener) serve() {
	defer l.p.wg.Done()
	defer close(l.done)
	var backoff time.Duration
	for {
		c, err := l.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			l.p.cnt.errors.Add(1)
			l.p.logf("proxy: accept on %v: %v", l.ln.Addr(), err)
			// Out of descriptors and the like: back off, bounded.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		l.p.cnt.accepted.Add(1)
		l.p.flowWG.Add(1)
		go l.p.serveTCP(l, c)
	}
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// resetConn closes c with a RST, what a user-space director can do where
// the kernel would answer ICMP unreachable or drop.
func resetConn(c *net.TCPConn) {
	c.SetLinger(0)
	c.Close()
}

// IP and TCP header sizes (with the timestamp option) counted in the
// core's byte statistics for packets the proxy reports.
// flowRoute is where a new TCP flow goes, as the core decided on its SYN.
type flowRoute struct {
	conn *ipvs.Conn // nil for a bypassed flow
	// rs is the entry's real server. The core may reuse the entry once it
	// expired, so sweeps read this and not conn.
	rs     *ipvs.Dest
	target netip.AddrPort // where to connect
	dest   netip.AddrPort // the entry's real server
	outSrc netip.AddrPort // source of the core's DirOut packets
	nat    bool
}

// route shows the core the SYN of a flow from src to dst and returns where
// the flow goes; ok is false (counted as rejected) when it goes nowhere:
// no service, no real server or a drop, and the client gets a RST.
// pkt is scratch space for the packet (the core does not keep it): the
// event loops pass theirs, so that no packet is allocated per connection.
func (p *Proxy) route(pkt *ipvs.Packet, src, dst netip.AddrPort, mark uint32, now ipvs.Time) (r flowRoute, ok bool) {
	*pkt = ipvs.Packet{
		Protocol: ipvs.ProtoTCP, Src: src.Addr(), SrcPort: src.Port(), Dst: dst.Addr(), DstPort: dst.Port(),
		Mark: mark, Dir: ipvs.DirIn, TCPFlags: ipvs.TCPSyn, Len: hdrLen(src.Addr(), true),
	}
	res := p.process(pkt, now)
	switch res.Verdict {
	case ipvs.VerdictForward:
		r.target = res.Conn.DestAddrPort()
	case ipvs.VerdictBypass:
		r.target = dst
	default:
		p.cnt.rejected.Add(1)
		return r, false
	}
	if r.conn = res.Conn; r.conn != nil {
		r.dest = r.conn.DestAddrPort()
		r.rs = r.conn.Dest()
		r.nat = ipvs.FwdMethod(r.conn.Flags()&ipvs.ConnFwdMask) == ipvs.FwdMasq
		r.outSrc = r.target
		if !r.nat {
			r.outSrc = dst
		}
	}
	return r, true
}

// flowPacket is the packet the core is shown for one segment of a relayed
// flow (src the client, dst the virtual address, outSrc the real server as
// the reply's source). Packets from the real server are seen by a NAT
// director only; for other forwarding methods the client's acknowledgement
// of them is shown instead, and nothing for their SYN or RST (ok false).
// It is written into pkt (scratch space: the core does not keep it).
func flowPacket(pkt *ipvs.Packet, dir ipvs.Direction, flags uint8, payload int, mark uint32, nat bool, src, dst, outSrc netip.AddrPort) (ok bool) {
	*pkt = ipvs.Packet{Protocol: ipvs.ProtoTCP, Mark: mark, Dir: dir, TCPFlags: flags}
	if dir == ipvs.DirOut && !nat {
		if flags&(ipvs.TCPSyn|ipvs.TCPRst) != 0 {
			return false
		}
		dir, pkt.Dir, pkt.TCPFlags, payload = ipvs.DirIn, ipvs.DirIn, ipvs.TCPAck, 0
	}
	if dir == ipvs.DirIn {
		pkt.Src, pkt.SrcPort, pkt.Dst, pkt.DstPort = src.Addr(), src.Port(), dst.Addr(), dst.Port()
	} else {
		pkt.Src, pkt.SrcPort, pkt.Dst, pkt.DstPort = outSrc.Addr(), outSrc.Port(), src.Addr(), src.Port()
	}
	pkt.Len = payload + hdrLen(pkt.Src, flags&ipvs.TCPSyn != 0)
	return true
}

func hdrLen(a netip.Addr, syn bool) int {
	n := 20 + 32
	if a.Is6() {
		n = 40 + 32
	}
	if syn {
		n += 8
	}
	return n
}

type tcpFlow struct {
	p       *Proxy
	client  *net.TCPConn
	back    *net.TCPConn
	conn    *ipvs.Conn
	rs      *ipvs.Dest // conn's real server (see flowRoute.rs)
	nat     bool
	mark    uint32
	src     netip.AddrPort // client
	dst     netip.AddrPort // virtual address as the core knows it
	dest    netip.AddrPort // real server as the core knows it
	outSrc  netip.AddrPort // source of DirOut packets
	aborted atomic.Bool
	// expires is when the core entry is expected to expire (ipvs.Time).
	expires atomic.Int64

	finMu          sync.Mutex
	finIn, finOut  bool
	lastFinFromOut bool
}

func (p *Proxy) serveTCP(l *tcpListener, c *net.TCPConn) {
	defer p.flowWG.Done()
	svc := l.svc.Load()
	src := addrPortOf(c.RemoteAddr())
	dst := addrPortOf(c.LocalAddr())
	var mark uint32
	if svc.TPROXY {
		// The original destination is the socket's local address.
		if m, err := socketMark(c); err == nil {
			mark = m
		}
	} else if svc.Key.FWMark == 0 {
		if svc.Key.Addr.IsValid() {
			dst = netip.AddrPortFrom(svc.Key.Addr.Unmap(), dst.Port())
		}
		if svc.Key.Port != 0 {
			dst = netip.AddrPortFrom(dst.Addr(), svc.Key.Port)
		}
	}
	if mark == 0 {
		mark = svc.Key.FWMark
	}
	if !src.IsValid() || !dst.IsValid() {
		p.cnt.errors.Add(1)
		resetConn(c)
		return
	}
	var pkt ipvs.Packet
	r, ok := p.route(&pkt, src, dst, mark, p.now())
	if !ok {
		resetConn(c)
		return
	}
	target := r.target
	f := &tcpFlow{p: p, client: c, conn: r.conn, rs: r.rs, mark: mark, src: src, dst: dst,
		dest: r.dest, nat: r.nat, outSrc: r.outSrc}
	back, err := p.dial(src, target)
	if err != nil {
		p.cnt.dialErrors.Add(1)
		if errors.Is(err, syscall.ECONNREFUSED) {
			// The real server's RST passes through a NAT director.
			f.feed(ipvs.DirOut, ipvs.TCPRst|ipvs.TCPAck, 0)
		}
		resetConn(c)
		return
	}
	f.back = back
	if !f.feed(ipvs.DirOut, ipvs.TCPSyn|ipvs.TCPAck, 0) || !f.feed(ipvs.DirIn, ipvs.TCPAck, 0) {
		p.cnt.expired.Add(1)
		resetConn(back)
		resetConn(c)
		return
	}
	if v := p.opts.ProxyProtocol; v == 1 || v == 2 {
		var hdr []byte
		if v == 1 {
			hdr = proxyproto.AppendV1(nil, src, dst)
		} else {
			hdr = proxyproto.AppendV2(nil, proxyproto.TCP, src, dst)
		}
		if _, err := back.Write(hdr); err != nil {
			p.cnt.errors.Add(1)
			resetConn(back)
			resetConn(c)
			return
		}
	}
	if !p.register(f) {
		resetConn(back)
		resetConn(c)
		return
	}
	p.cnt.forwarded.Add(1)
	f.relay()
	p.unregister(f)
}

func (p *Proxy) dial(client, target netip.AddrPort) (*net.TCPConn, error) {
	network := "tcp4"
	if target.Addr().Is6() {
		network = "tcp6"
	}
	dl := net.Dialer{Timeout: p.opts.DialTimeout, KeepAlive: -1}
	if p.opts.Transparent && client.Addr().Is6() == target.Addr().Is6() {
		dl.Control = transparentControl
		dl.LocalAddr = net.TCPAddrFromAddrPort(client)
	}
	c, err := dl.DialContext(p.ctx, network, target.String())
	if err != nil && dl.LocalAddr != nil && errors.Is(err, syscall.EADDRINUSE) {
		// The client's port is taken here (a local client): any port.
		dl.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(client.Addr(), 0))
		c, err = dl.DialContext(p.ctx, network, target.String())
	}
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

func (p *Proxy) register(f *tcpFlow) bool {
	p.flowsMu.Lock()
	defer p.flowsMu.Unlock()
	if p.ctx.Err() != nil {
		return false
	}
	p.flows[f] = struct{}{}
	p.cnt.activeFlows.Add(1)
	return true
}

func (p *Proxy) unregister(f *tcpFlow) {
	p.flowsMu.Lock()
	delete(p.flows, f)
	p.flowsMu.Unlock()
	p.cnt.activeFlows.Add(-1)
}

// feed reports one segment of the flow to the core (see flowPacket) and
// reports whether the flow's entry is still there.
func (f *tcpFlow) feed(dir ipvs.Direction, flags uint8, payload int) bool {
	if f.conn == nil {
		return true // bypass: no entry to drive
	}
	var pkt ipvs.Packet
	if !flowPacket(&pkt, dir, flags, payload, f.mark, f.nat, f.src, f.dst, f.outSrc) {
		return true
	}
	now := f.p.now()
	res := f.p.process(&pkt, now)
	if res.Verdict != ipvs.VerdictForward || res.Conn != f.conn {
		return false
	}
	f.expires.Store(int64(now.Add(f.p.stateTimeout(f.conn.StateName()))))
	return true
}

// stateTimeout is the core's timeout of a TCP state: the three that can be
// set (ipvsadm --set) from the director, the others the kernel's defaults.
// It only schedules the next check of the entry; the core decides.
func (p *Proxy) stateTimeout(state string) time.Duration {
	t := p.timeouts.Load()
	switch state {
	case "ESTABLISHED":
		return t.TCP
	case "FIN_WAIT":
		return t.TCPFin
	case "SYN_SENT", "TIME_WAIT", "LISTEN", "SYNACK":
		return 2 * time.Minute
	case "SYN_RECV", "CLOSE_WAIT":
		return time.Minute
	case "LAST_ACK":
		return 30 * time.Second
	case "CLOSE":
		return 10 * time.Second
	}
	return 2 * time.Second
}

// refreshEvery is how often an idle relay direction wakes up to report
// partial chunks, so that a slow flow's entry never expires while data
// moves: half the shortest timeout of a state with data (ESTABLISHED,
// FIN_WAIT, CLOSE_WAIT, LAST_ACK), at least one tick.
func (p *Proxy) refreshEvery() time.Duration {
	t := p.timeouts.Load()
	return max(min(t.TCP, t.TCPFin, 30*time.Second)/2, p.opts.Tick)
}

func (f *tcpFlow) abort() {
	if f.aborted.CompareAndSwap(false, true) {
		resetConn(f.client)
		resetConn(f.back)
	}
}

// relay copies both ways until both sides have closed, or one fails.
func (f *tcpFlow) relay() {
	done := make(chan struct{})
	go func() {
		f.pipe(f.client, f.back, ipvs.DirIn)
		close(done)
	}()
	f.pipe(f.back, f.client, ipvs.DirOut)
	<-done
	if f.aborted.Load() {
		return
	}
	// The last FIN is acknowledged by the other side.
	if f.lastFinFromOut {
		f.feed(ipvs.DirIn, ipvs.TCPAck, 0)
	} else {
		f.feed(ipvs.DirOut, ipvs.TCPAck, 0)
	}
	f.client.Close()
	f.back.Close()
}

// pipe copies src to dst in chunks (splice on Linux), reporting each chunk
// to the core; at src's EOF it half-closes dst and reports the FIN.
// smallBuf is the size of the buffer a direction copies through before it
// switches to splice: small request/response traffic costs one read and
// one write per message this way, where splice costs two splices and a
// pipe; a read that fills the buffer marks bulk traffic, which splices.
const smallBuf = 16 << 10

var smallBufPool = sync.Pool{New: func() any { return new([smallBuf]byte) }}

func (f *tcpFlow) pipe(src, dst *net.TCPConn, dir ipvs.Direction) {
	p := f.p
	lr := &io.LimitedReader{R: src}
	src.SetReadDeadline(time.Now().Add(p.refreshEvery()))
	buffered := true
	for {
		var n int64
		var err error
		if buffered {
			// One read into a pooled buffer; an EOF reads as (0, nil)
			// below, as io.Copy reports it.
			b := smallBufPool.Get().(*[smallBuf]byte)
			m, rerr := src.Read(b[:])
			if m > 0 {
				if _, werr := dst.Write(b[:m]); werr != nil && rerr == nil {
					rerr = werr
				}
			}
			smallBufPool.Put(b)
			n, err = int64(m), rerr
			if errors.Is(err, io.EOF) {
				err = nil
			}
			if m == smallBuf {
				buffered = false // bulk: splice from now on
			}
			// The switch below reads lr.N == 0 as "more to come" and
			// a nil error with lr.N > 0 as EOF, as after io.Copy.
			lr.N = 0
			if m == 0 && err == nil {
				lr.N = 1
			}
		} else {
			lr.N = p.opts.ChunkSize
			n, err = io.Copy(dst, lr)
		}
		if n > 0 {
			if dir == ipvs.DirIn {
				p.cnt.bytesIn.Add(uint64(n))
			} else {
				p.cnt.bytesOut.Add(uint64(n))
			}
			if !f.aborted.Load() && !f.feed(dir, ipvs.TCPAck|ipvs.TCPPsh, int(n)) {
				f.expire()
				return
			}
		}
		switch {
		case err == nil && lr.N == 0:
			continue // chunk done
		case err == nil:
			// EOF: pass the FIN on.
			f.finMu.Lock()
			if dir == ipvs.DirIn {
				f.finIn = true
			} else {
				f.finOut = true
			}
			f.lastFinFromOut = dir == ipvs.DirOut
			f.finMu.Unlock()
			if err := dst.CloseWrite(); err != nil && !f.aborted.Load() {
				p.cnt.errors.Add(1)
				f.abort()
				return
			}
			if !f.aborted.Load() && !f.feed(dir, ipvs.TCPFin|ipvs.TCPAck, 0) {
				f.expire()
			}
			return
		case errors.Is(err, os.ErrDeadlineExceeded) && !f.aborted.Load():
			src.SetReadDeadline(time.Now().Add(p.refreshEvery()))
			continue
		}
		if !f.aborted.Load() {
			// A reset or I/O error on either side ends both.
			p.cnt.errors.Add(1)
			f.feed(dir, ipvs.TCPRst, 0)
			f.abort()
		}
		return
	}
}

// expire ends a relay whose core entry is gone: the client and the real
// server get a RST, as they would from a kernel director that no longer
// knows the connection.
func (f *tcpFlow) expire() {
	if !f.aborted.Load() {
		f.p.cnt.expired.Add(1)
		f.abort()
	}
}

// sweepTCP closes the relays whose core entries expired.
func (p *Proxy) sweepTCP(now ipvs.Time) {
	p.flowsMu.Lock()
	defer p.flowsMu.Unlock()
	for f := range p.flows {
		if f.conn == nil || f.aborted.Load() {
			continue
		}
		if d := f.rs; ipvs.Time(f.expires.Load()) > now && (d == nil || d.Available()) {
			continue
		}
		ok, left := p.alive(ipvs.ProtoTCP, f.mark, f.src, f.dst, f.dest, now)
		if ok {
			f.expires.Store(int64(now.Add(max(left, p.opts.Tick))))
			continue
		}
		f.expire()
	}
}
