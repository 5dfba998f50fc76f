//go:build linux

package proxy

import (
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golvs/golvs/dataplane/proxyproto"
	"github.com/golvs/golvs/ipvs"
)

// The Linux TCP engine: as HAProxy does, a few event loops (one per
// GOMAXPROCS, each one goroutine) drive non-blocking sockets with epoll
// (edge-triggered for connections, one registration per socket for its whole
// life), accept4 and connect without Go's netpoller, a goroutine per
// connection or a context per dial. Small messages go through the loop's one
// buffer; a read that fills it switches its direction to splice. Each loop
// owns its flows: nothing of a flow is shared, so nothing is locked per
// packet. Other goroutines reach a loop through its command queue.

const (
	epWake uint8 = iota
	epListener
	epClient
	epBack
)

// endpoint is a socket a loop watches, with the readiness its edge events
// reported (cleared when a call would block).
type endpoint struct {
	fd   int
	seq  uint32
	kind uint8
	ln   *tcpListener
	f    *eflow

	rd, wr bool // readable, writable
	hup    bool // the peer's FIN has arrived (EPOLLRDHUP)
	err    bool // EPOLLERR: the next call reports the error

	backoff time.Duration // a listener's pause after an accept error
}

type evloop struct {
	p    *Proxy
	epfd int
	// park is an epoll set watched by Go's poller, which holds epfd only
	// while the loop is parked (see wait); rc is park's, nil: wait in
	// epoll_wait.
	park   *os.File
	parkFd int
	rc     syscall.RawConn
	wake   endpoint // eventfd

	index int // in Proxy.loops

	mu    sync.Mutex
	cmds  []func()
	woken bool
	dead  bool
	spare []func()

	eps      []*endpoint // by fd
	seq      uint32
	flows    eflow // sentinel of the list of this loop's flows
	ready    []*eflow
	next     []*eflow
	held     []*eflow // flows holding a FIN until after the next poll
	dials    []*eflow // connecting flows from dialHead on, in deadline order (lazily pruned)
	dialHead int
	pipes    [][2]int
	free     []*eflow // finished flows, for reuse
	buf      []byte
	events   [128]unix.EpollEvent
	rsa      unix.RawSockaddrAny
	pkt      ipvs.Packet // the packet shown to the core (scratch: no allocation per call)
	now      ipvs.Time
	lastGap  time.Duration // the last wait for events
	prevGap  time.Duration // the one before
	polled   time.Time     // when a busy poll last found events
	nflows   int           // flows of this loop
	accepts  uint32        // connections accepted (wraps)
	seenAcc  uint32        // accepts as wait last saw it
	accQuiet time.Time     // since when no connection was accepted (as wait saw it)
	stop     bool
	done     chan struct{}
}

// startLoops starts the proxy's event loops.
func (p *Proxy) startLoops() error {
	n := max(1, min(runtime.GOMAXPROCS(0), 64))
	for range n {
		l, err := newLoop(p, len(p.loops))
		if err != nil {
			for _, o := range p.loops {
				o.post(func() { o.stop = true })
				<-o.done
			}
			p.loops = nil
			return err
		}
		p.loops = append(p.loops, l)
		go l.run()
	}
	return nil
}

func newLoop(p *Proxy, index int) (*evloop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	l := &evloop{p: p, index: index, epfd: epfd, buf: make([]byte, smallBuf), done: make(chan struct{})}
	l.flows.prev, l.flows.next = &l.flows, &l.flows
	l.wake = endpoint{fd: efd, kind: epWake}
	if err := l.add(&l.wake, unix.EPOLLIN|unix.EPOLLET); err != nil {
		unix.Close(efd)
		unix.Close(epfd)
		return nil, err
	}
	if pfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC); err == nil {
		if unix.SetNonblock(pfd, true) != nil {
			unix.Close(pfd)
		} else {
			l.park, l.parkFd = os.NewFile(uintptr(pfd), "epoll"), pfd
			if rc, err := l.park.SyscallConn(); err == nil {
				l.rc = rc
			}
		}
	}
	return l, nil
}

// add registers ep with the loop's epoll: events carry its fd and a
// sequence number, so that an event of a closed socket whose number was
// reused is recognised.
func (l *evloop) add(ep *endpoint, events uint32) error {
	l.seq++
	ep.seq = l.seq
	for ep.fd >= len(l.eps) {
		l.eps = append(l.eps, make([]*endpoint, max(64, len(l.eps)))...)
	}
	ev := unix.EpollEvent{Events: events, Fd: int32(ep.fd), Pad: int32(ep.seq)}
	if err := sysEpollCtl(l.epfd, unix.EPOLL_CTL_ADD, ep.fd, &ev); err != nil {
		return err
	}
	l.eps[ep.fd] = ep
	return nil
}

// forget drops ep from the loop's table; closing its socket removes it from
// epoll.
func (l *evloop) forget(ep *endpoint) {
	if ep.fd >= 0 && ep.fd < len(l.eps) && l.eps[ep.fd] == ep {
		l.eps[ep.fd] = nil
	}
}

// post runs fn on the loop; it reports false, without running fn, if the
// loop has stopped.
func (l *evloop) post(fn func()) bool {
	l.mu.Lock()
	if l.dead {
		l.mu.Unlock()
		return false
	}
	l.cmds = append(l.cmds, fn)
	wake := !l.woken
	l.woken = true
	l.mu.Unlock()
	if wake {
		var one = [8]byte{1}
		unix.Write(l.wake.fd, one[:])
	}
	return true
}

// call runs fn on the loop and waits for it.
func (l *evloop) call(fn func()) {
	done := make(chan struct{})
	if l.post(func() { fn(); close(done) }) {
		<-done
	}
}

func (l *evloop) runCmds() {
	var b [8]byte
	unix.Read(l.wake.fd, b[:])
	l.mu.Lock()
	cmds := l.cmds
	l.cmds = l.spare[:0]
	l.woken = false
	l.mu.Unlock()
	for i, fn := range cmds {
		fn()
		cmds[i] = nil
	}
	l.spare = cmds
}

func (l *evloop) run() {
	defer close(l.done)
	for !l.stop {
		var n int
		if len(l.ready) > 0 || len(l.held) > 0 {
			n = l.poll()
		} else {
			n = l.wait()
		}
		// One clock reading per batch: the core counts in jiffies.
		l.now = l.p.now()
		cmds := false
		for i := range max(n, 0) {
			ev := &l.events[i]
			fd := int(ev.Fd)
			if fd >= len(l.eps) {
				continue
			}
			ep := l.eps[fd]
			if ep == nil || ep.seq != uint32(ev.Pad) {
				continue
			}
			e := ev.Events
			switch ep.kind {
			case epWake:
				cmds = true
			case epListener:
				l.accept(ep.ln)
			default:
				if e&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
					ep.rd = true
				}
				if e&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
					ep.wr = true
				}
				if e&unix.EPOLLRDHUP != 0 {
					ep.hup = true
				}
				if e&unix.EPOLLERR != 0 {
					ep.err = true
				}
				l.schedule(ep.f)
			}
		}
		// FINs held since the last poll go now (after what it reported).
		for i, f := range l.held {
			f.holding = false
			l.schedule(f)
			l.held[i] = nil
		}
		l.held = l.held[:0]
		ready := l.ready
		l.ready = l.next[:0]
		for i, f := range ready {
			f.queued = false
			f.step()
			ready[i] = nil
		}
		l.next = ready
		if cmds {
			l.runCmds()
		}
	}
	l.close()
}

// poll returns the events ready now.
func (l *evloop) poll() int {
	n, err := sysEpollPoll(l.epfd, l.events[:])
	if err != nil {
		if err != unix.EINTR {
			l.p.logf("proxy: epoll_wait: %v", err)
		}
		return 0
	}
	return n
}

// wait waits for events. While it waits, the loop's epoll set is watched
// by Go's poller (through the park set), so an idle loop parks its
// goroutine as any network wait does: a loop blocked in epoll_wait would
// look like a goroutine stuck in a system call, whose P the runtime hands
// off (and sysmon polls) at every wake-up.
func (l *evloop) wait() int {
	if l.rc == nil {
		n, err := unix.EpollWait(l.epfd, l.events[:], 100)
		if err != nil {
			return 0
		}
		return n
	}
	// Busy polling, adaptive: while events come closer together than
	// Options.BusyPoll, an idle loop polls that long before it parks. Under
	// load this saves a park and a wake-up per burst, and the sockets' peers
	// an IPI each to wake the loop's core; once a poll finds nothing in
	// time, the loop parks and polls again only after a short wait.
	// One long gap does not stop the polling: events come in bursts (a
	// request, then its response), and the event after a long gap is
	// often followed by another one soon; two long gaps in a row do.
	//
	// With many flows, the polls are also spaced coalesceWait apart at
	// least (as a NIC moderates its interrupts): the loop then sends in
	// bursts, and the processes that it wakes on other cores (clients,
	// real servers) are woken, and preempt what runs there, once per burst
	// rather than once per message; a flow alone (one request at a time)
	// is not delayed, nor the poll after a batch that accepted a
	// connection (its connect and first data go on at once). A loop that
	// accepted a connection within the last millisecond sleeps the
	// spacing instead of spinning through it: its core halts meanwhile,
	// and the other cores, which run the clients' and real servers' side
	// of every new connection, go faster (on the
	// benchmark's virtual machine a spinning core slowed the other one's
	// loopback HTTP by about 4 %). Measured in bench/run.sh's setting
	// (every process at niceness -10; 2026-12, a 2-core Intel Xeon VM),
	// golvs over HAProxy, medians of interleaved A/B runs (bench/ab.sh):
	// 64 kept-alive connections, spacing 25 µs 1.02x, 50 µs 1.03-1.06x,
	// 100 µs 1.02x, 200 µs 1.00x; 32 connections closed after each
	// request, no spacing within a millisecond of an accept 0.93-0.98x,
	// 50 µs spun 0.97-1.00x, 50 µs slept 1.01-1.04x, 50 µs slept also
	// right after an accept 0.85x.
	spin := l.p.opts.BusyPoll
	t0 := time.Now()
	accepted := l.accepts != l.seenAcc
	if accepted {
		l.seenAcc, l.accQuiet = l.accepts, t0
	}
	if spin > 0 && min(l.lastGap, l.prevGap) < spin {
		if l.nflows >= coalesceFlows && !accepted {
			if t0.Sub(l.accQuiet) <= time.Millisecond {
				// Accepting: sleep the spacing (the core halts).
				if d := coalesceWait - t0.Sub(l.polled); d > 2*time.Microsecond {
					sysNanosleep(d)
					t0 = time.Now()
				}
			}
			for t0.Sub(l.polled) < coalesceWait {
				t0 = time.Now()
			}
		}
		for {
			if n := l.poll(); n > 0 {
				l.polled = time.Now()
				l.prevGap, l.lastGap = l.lastGap, l.polled.Sub(t0)
				return n
			}
			if time.Since(t0) >= spin {
				break
			}
		}
	}
	// Park: the loop's epoll set joins the one that Go's poller watches
	// for the time of the wait only (two epoll_ctl calls per park). An
	// epoll set watched by another one calls into that one (its wait
	// queue's lock, its callback, the other's lock) at every event of every
	// socket, in the softirq of the core whose packet caused it: under
	// load, mostly the clients' and real servers' core, which bounds both
	// rates of bench/run.sh. Measured there (2026-12, bench/ab.sh, 6
	// rounds against HAProxy): new connections/s 1.029x against 0.999x
	// with the set always watched, kept-alive requests/s 1.071x against
	// 1.046x, each round ahead on both.
	n := 0
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(l.epfd)}
	if err := sysEpollCtl(l.parkFd, unix.EPOLL_CTL_ADD, l.epfd, &ev); err != nil && err != unix.EEXIST {
		l.rc = nil // wait in the system call from now on
		return l.wait()
	}
	err := l.rc.Read(func(uintptr) bool {
		n = l.poll()
		return n > 0
	})
	sysEpollCtl(l.parkFd, unix.EPOLL_CTL_DEL, l.epfd, nil)
	if err != nil {
		// Not pollable after all: wait in the system call.
		l.rc = nil
	}
	l.prevGap, l.lastGap = l.lastGap, time.Since(t0)
	return n
}

// Busy polls of a loop with at least coalesceFlows flows are spaced
// coalesceWait apart at least (see wait).
const (
	coalesceFlows = 8
	coalesceWait  = 50 * time.Microsecond
)

func (l *evloop) schedule(f *eflow) {
	if !f.queued && f.state != flowDone {
		f.queued = true
		l.ready = append(l.ready, f)
	}
}

// close releases the loop's descriptors once it has stopped; commands
// posted meanwhile still run.
func (l *evloop) close() {
	l.mu.Lock()
	l.dead = true
	cmds := l.cmds
	l.cmds = nil
	l.mu.Unlock()
	for _, fn := range cmds {
		fn()
	}
	for f := l.flows.next; f != &l.flows; f = f.next {
		f.abort()
	}
	for _, pp := range l.pipes {
		unix.Close(pp[0])
		unix.Close(pp[1])
	}
	l.pipes = nil
	unix.Close(l.wake.fd)
	if l.park != nil {
		l.park.Close()
	}
	unix.Close(l.epfd)
}

// ---- listeners ----------------------------------------------------------------------------------

func (p *Proxy) listenTCPLoop(s Service) (*tcpListener, error) {
	la := s.listenAddr()
	fd, err := listenSocket(la, s.TPROXY)
	if err != nil {
		return nil, err
	}
	l := &tcpListener{p: p, fd: fd, addr: la, tproxy: s.TPROXY, done: make(chan struct{})}
	l.svc.Store(&s)
	// The local address is the listener's when it is bound to one.
	l.fixedLocal = !la.Addr().IsUnspecified() && !s.TPROXY
	l.eps = make([]*endpoint, len(p.loops))
	var errs []error
	for i, lp := range p.loops {
		lp.call(func() {
			ep := &endpoint{fd: fd, kind: epListener, ln: l}
			// Every loop waits on the listener; EPOLLEXCLUSIVE wakes one.
			if err := lp.add(ep, unix.EPOLLIN|unix.EPOLLEXCLUSIVE); err != nil {
				errs = append(errs, err)
				return
			}
			l.eps[i] = ep
		})
	}
	if len(errs) > 0 {
		l.close()
		return nil, errs[0]
	}
	return l, nil
}

func (l *tcpListener) closeLoop() {
	for i, lp := range l.p.loops {
		lp.call(func() {
			if ep := l.eps[i]; ep != nil {
				unix.EpollCtl(lp.epfd, unix.EPOLL_CTL_DEL, l.fd, nil)
				lp.forget(ep)
				l.eps[i] = nil
			}
		})
	}
	unix.Close(l.fd)
	close(l.done)
}

var (
	somaxconnOnce sync.Once
	somaxconn     = 4096
)

func listenSocket(la netip.AddrPort, tproxy bool) (int, error) {
	somaxconnOnce.Do(func() {
		if b, err := os.ReadFile("/proc/sys/net/core/somaxconn"); err == nil {
			if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
				somaxconn = min(n, 1<<16-1)
			}
		}
	})
	v6 := la.Addr().Is6()
	family := unix.AF_INET
	if v6 {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	fail := func(what string, err error) (int, error) {
		unix.Close(fd)
		return -1, &net.OpError{Op: what, Net: "tcp", Addr: net.TCPAddrFromAddrPort(la), Err: os.NewSyscallError(what, err)}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail("setsockopt", err)
	}
	if v6 {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
			return fail("setsockopt", err)
		}
	}
	if tproxy {
		if err := setTransparent(fd, v6); err != nil {
			return fail("setsockopt", err)
		}
	}
	// Accepted sockets inherit TCP_NODELAY: one call here instead of one
	// per connection.
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return fail("setsockopt", err)
	}
	var rsa unix.RawSockaddrAny
	ptr, n := putSockaddr(&rsa, la, zoneIndex(la.Addr()))
	if err := rawBind(fd, ptr, n); err != nil {
		return fail("bind", err)
	}
	if err := unix.Listen(fd, somaxconn); err != nil {
		return fail("listen", err)
	}
	return fd, nil
}

func zoneIndex(a netip.Addr) uint32 {
	if z := a.Zone(); z != "" {
		if ifi, err := net.InterfaceByName(z); err == nil {
			return uint32(ifi.Index)
		}
		if n, err := strconv.Atoi(z); err == nil {
			return uint32(n)
		}
	}
	return 0
}

// ---- accept -------------------------------------------------------------------------------------

// acceptBudget bounds the connections a loop accepts per event of a
// listener. The listener is level-triggered: what is left is reported again
// by the next epoll_wait, which the loop makes anyway, where accepting until
// EAGAIN would cost a failing accept4 per wake-up. As HAProxy, one.
const acceptBudget = 1

func (l *evloop) accept(ln *tcpListener) {
	p := l.p
	for range acceptBudget {
		fd, err := rawAccept4(ln.fd, &l.rsa)
		if err != nil {
			switch err {
			case unix.EAGAIN, unix.EINTR:
				return
			case unix.ECONNABORTED, unix.EPERM, unix.EPROTO:
				continue // that connection is gone; others may wait
			}
			// Out of descriptors and the like: stop listening for a while.
			p.cnt.errors.Add(1)
			p.logf("proxy: accept on %v: %v", ln.addr, err)
			l.pauseListener(ln)
			return
		}
		if ep := ln.eps[l.index]; ep != nil {
			ep.backoff = 0
		}
		p.cnt.accepted.Add(1)
		l.accepts++
		src := sockaddrAddrPort(&l.rsa)
		l.open(ln, fd, src)
	}
}

// pauseListener stops this loop's accepting on ln for a bounded, growing
// time, as the goroutine engine sleeps after an accept error.
func (l *evloop) pauseListener(ln *tcpListener) {
	i := l.index
	ep := ln.eps[i]
	if ep == nil {
		return
	}
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, ln.fd, nil)
	ep.backoff = min(max(2*ep.backoff, 5*time.Millisecond), time.Second)
	time.AfterFunc(ep.backoff, func() {
		l.post(func() {
			if ln.eps[i] != ep {
				return
			}
			ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLEXCLUSIVE, Fd: int32(ep.fd), Pad: int32(ep.seq)}
			unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, ln.fd, &ev)
		})
	})
}

// open runs a new client connection through the core and starts its
// connect to the real server.
func (l *evloop) open(ln *tcpListener, fd int, src netip.AddrPort) {
	p := l.p
	svc := ln.svc.Load()
	var dst netip.AddrPort
	if ln.fixedLocal {
		dst = ln.addr
	} else if a, err := rawGetsockname(fd, &l.rsa); err == nil {
		dst = a
	}
	var mark uint32
	if svc.TPROXY {
		// The original destination is the socket's local address.
		if m, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK); err == nil {
			mark = uint32(m)
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
	if !src.IsValid() || !dst.IsValid() || dst.Port() == 0 {
		p.cnt.errors.Add(1)
		resetFd(fd)
		return
	}
	r, ok := p.route(&l.pkt, src, dst, mark, l.now)
	if !ok {
		resetFd(fd)
		return
	}
	f := l.newFlow()
	f.conn, f.rs, f.mark, f.src, f.dst, f.target = r.conn, r.rs, mark, src, dst, r.target
	f.dest, f.nat, f.outSrc = r.dest, r.nat, r.outSrc
	f.c = endpoint{fd: fd, kind: epClient, f: f, wr: true}
	f.b = endpoint{fd: -1, kind: epBack, f: f}
	f.pipes[0], f.pipes[1] = [2]int{-1, -1}, [2]int{-1, -1}
	p.flowWG.Add(1)
	l.nflows++
	f.prev, f.next = l.flows.prev, &l.flows
	f.prev.next, l.flows.prev = f, f
	f.state = flowConnecting
	if v := p.opts.ProxyProtocol; v == 1 || v == 2 {
		b := pendPool.Get().(*[]byte)
		if v == 1 {
			*b = proxyproto.AppendV1((*b)[:0], f.src, f.dst)
		} else {
			*b = proxyproto.AppendV2((*b)[:0], proxyproto.TCP, f.src, f.dst)
		}
		f.pend[0], f.poff[0] = b, 0
	}
	// Read what the client sent already, as HAProxy does: with its request
	// in hand, the proxy sends it right after the connect, and the real
	// server wakes once for the connection and its first data. (Before the
	// socket is registered: registering reports what is left.)
	if !f.earlyRead() {
		return
	}
	if err := l.add(&f.c, unix.EPOLLIN|unix.EPOLLOUT|unix.EPOLLRDHUP|unix.EPOLLET); err != nil {
		p.cnt.errors.Add(1)
		f.abort()
		return
	}
	f.dial(p.opts.Transparent && src.Addr().Is6() == f.target.Addr().Is6(), true)
}

// earlyRead reads the client's first data, kept in pend[0] until the
// connect completes; it reports false if the flow ended.
func (f *eflow) earlyRead() bool {
	l := f.l
	n, err := sysRead(f.c.fd, l.buf)
	switch {
	case err == unix.EAGAIN:
		return true
	case err != nil:
		l.p.cnt.errors.Add(1)
		f.feed(ipvs.DirIn, ipvs.TCPRst, 0)
		f.abort()
		return false
	case n == 0:
		f.eof[0] = true
		return true
	}
	l.p.cnt.bytesIn.Add(uint64(n))
	f.c.rd = n == len(l.buf) // a full read may leave more
	b := f.pend[0]
	if b == nil {
		b = pendPool.Get().(*[]byte)
		*b = (*b)[:0]
		f.pend[0], f.poff[0] = b, 0
	}
	*b = append(*b, l.buf[:n]...)
	f.unfed = n
	return true
}

// probe writes the data waiting for the connect: on loopback and fast
// networks the handshake completes within connect(2), and the data leaves
// at once. It reports whether the connect completed (or failed).
func (f *eflow) probe() bool {
	b := f.pend[0]
	n, err := rawSend(f.b.fd, (*b)[f.poff[0]:], unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT)
	if err == unix.EAGAIN {
		return false // still connecting
	}
	if err != nil {
		f.dialFailed(err)
		return true
	}
	if f.poff[0] += n; f.poff[0] == len(*b) {
		*b = (*b)[:0]
		pendPool.Put(b)
		f.pend[0] = nil
	}
	f.connected()
	f.l.schedule(f)
	return true
}

// ---- flows --------------------------------------------------------------------------------------

const (
	flowConnecting uint8 = iota + 1
	flowRelay
	flowDone
)

// eflow is a relayed TCP connection of the Linux engine: the client's socket,
// the real server's and the two directions between them (0: client to real
// server, the core's DirIn; 1: real server to client, DirOut).
type eflow struct {
	l    *evloop
	c, b endpoint

	state    uint8
	queued   bool
	holding  bool // in the loop's held list
	counted  bool // in ActiveFlows
	lastFin1 bool // the last FIN came from the real server
	unfed    int  // client bytes read before the connect completed, not yet fed to the core
	deadline time.Time

	conn   *ipvs.Conn
	rs     *ipvs.Dest // conn's real server (see flowRoute.rs)
	nat    bool
	mark   uint32
	src    netip.AddrPort // client
	dst    netip.AddrPort // virtual address as the core knows it
	dest   netip.AddrPort // real server as the core knows it
	target netip.AddrPort // where the proxy connects
	outSrc netip.AddrPort // source of DirOut packets
	// expires is when the core entry is expected to expire; fedAt is when
	// the core last heard of the flow.
	expires ipvs.Time
	fedAt   ipvs.Time

	// Per direction: data read and not yet written (pend, from pendPool),
	// the bytes in the direction's splice pipe, whether its source sent its
	// FIN, whether it was passed on and whether it waited for a poll first,
	// whether it splices, and the bytes spliced but not yet reported to the
	// core.
	pend    [2]*[]byte
	poff    [2]int
	pipes   [2][2]int
	inPipe  [2]int
	eof     [2]bool
	shut    [2]bool
	finHeld [2]bool
	bulk    [2]bool
	unrep   [2]int64

	prev, next *eflow
}

var pendPool = sync.Pool{New: func() any { b := make([]byte, 0, smallBuf); return &b }}

// dial opens the socket to the real server and starts the connect.
func (f *eflow) dial(transparent, clientPort bool) {
	l, p := f.l, f.l.p
	v6 := f.target.Addr().Is6()
	family := unix.AF_INET
	if v6 {
		family = unix.AF_INET6
	}
	fd, err := sysSocket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
	if err != nil {
		f.dialFailed(err)
		return
	}
	f.b.fd = fd
	// Small messages must leave at once (Nagle would hold a second one until
	// the first is acknowledged).
	if err := sysSetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		f.dialFailed(err)
		return
	}
	if transparent {
		if err := setTransparent(fd, v6); err != nil {
			f.dialFailed(err)
			return
		}
		from := f.src
		if !clientPort {
			from = netip.AddrPortFrom(from.Addr(), 0)
		}
		ptr, n := putSockaddr(&l.rsa, from, 0)
		err := rawBind(fd, ptr, n)
		if err == unix.EADDRINUSE && clientPort {
			// The client's port is taken here (a local client): any port.
			ptr, n = putSockaddr(&l.rsa, netip.AddrPortFrom(f.src.Addr(), 0), 0)
			err = rawBind(fd, ptr, n)
		}
		if err != nil {
			f.dialFailed(err)
			return
		}
	}
	ptr, n := putSockaddr(&l.rsa, f.target, zoneIndex(f.target.Addr()))
	err = rawConnect(fd, ptr, n)
	switch err {
	case nil, unix.EINPROGRESS:
	case unix.EADDRINUSE:
		if transparent && clientPort {
			sysClose(fd)
			f.b.fd = -1
			f.dial(true, false)
			return
		}
		fallthrough
	default:
		f.dialFailed(err)
		return
	}
	if err := l.add(&f.b, unix.EPOLLIN|unix.EPOLLOUT|unix.EPOLLRDHUP|unix.EPOLLET); err != nil {
		f.dialFailed(err)
		return
	}
	if err == nil {
		// Connected at once: relay what the client sent.
		f.connected()
		l.schedule(f)
		return
	}
	if f.pend[0] != nil && f.probe() {
		return
	}
	f.deadline = time.Now().Add(p.opts.DialTimeout)
	l.dials = append(l.dials, f)
}

// expireDials fails the connects past their deadline (at each sweep: the
// timeout's precision is the tick).
func (l *evloop) expireDials() {
	if len(l.dials) == 0 {
		return
	}
	now := time.Now()
	for l.dialHead < len(l.dials) {
		f := l.dials[l.dialHead]
		if f.state == flowConnecting && f.deadline.After(now) {
			break
		}
		l.dials[l.dialHead] = nil
		l.dialHead++
		if f.state == flowConnecting {
			f.dialFailed(unix.ETIMEDOUT)
		}
	}
	// Keep the queue's array: compact once its head passed half of it.
	if l.dialHead == len(l.dials) {
		l.dials, l.dialHead = l.dials[:0], 0
	} else if l.dialHead > len(l.dials)/2 {
		k := copy(l.dials, l.dials[l.dialHead:])
		clear(l.dials[k:])
		l.dials, l.dialHead = l.dials[:k], 0
	}
}

func (f *eflow) dialFailed(err error) {
	p := f.l.p
	p.cnt.dialErrors.Add(1)
	if err == unix.ECONNREFUSED {
		// The real server's RST passes through a NAT director.
		f.feed(ipvs.DirOut, ipvs.TCPRst|ipvs.TCPAck, 0)
	}
	f.abort()
}

// connected follows the real server's accepting the connection.
func (f *eflow) connected() {
	p := f.l.p
	f.state = flowRelay
	f.b.wr = true // connected: writable until a write would block
	if !f.feed(ipvs.DirOut, ipvs.TCPSyn|ipvs.TCPAck, 0) || !f.feed(ipvs.DirIn, ipvs.TCPAck, 0) {
		p.cnt.expired.Add(1)
		f.abort()
		return
	}
	// The client's data read before the connect completed is reported
	// from now on.
	f.unrep[0] += int64(f.unfed)
	f.unfed = 0
	f.counted = true
	p.cnt.activeFlows.Add(1)
	p.cnt.forwarded.Add(1)
}

// stepBudget bounds the reads a flow makes per turn, so that one busy flow
// does not hold up the others; a flow with work left runs again next turn.
const stepBudget = 8

// step moves what can be moved without blocking, in both directions.
func (f *eflow) step() {
	if f.state == flowConnecting {
		if f.b.err {
			soerr, err := unix.GetsockoptInt(f.b.fd, unix.SOL_SOCKET, unix.SO_ERROR)
			if err == nil && soerr != 0 {
				err = unix.Errno(soerr)
			}
			if err == nil {
				err = unix.ECONNRESET
			}
			f.dialFailed(err)
			return
		}
		if !f.b.wr {
			return // the client spoke first: wait for the connect
		}
		f.connected()
	}
	budget := stepBudget
	for f.state == flowRelay {
		m0 := f.move(0, &budget)
		if f.state != flowRelay {
			return
		}
		m1 := f.move(1, &budget)
		if f.state != flowRelay {
			return
		}
		if budget <= 0 {
			// Maybe more to do: run again after the others.
			f.l.schedule(f)
			return
		}
		if !m0 && !m1 {
			return
		}
	}
}

// move makes progress in direction d; it reports whether it did and may
// go on.
func (f *eflow) move(d int, budget *int) bool {
	src, dst := &f.c, &f.b
	dir := ipvs.DirIn
	if d == 1 {
		src, dst = &f.b, &f.c
		dir = ipvs.DirOut
	}
	l := f.l
	// Flush what the destination could not take. Only EAGAIN means that
	// it is full (and arms its next EPOLLOUT edge): a short count is
	// retried at once (splice to a socket may stop short with room left).
	if b := f.pend[d]; b != nil {
		if !dst.wr {
			return false
		}
		n, err := sendAll(dst.fd, (*b)[f.poff[d]:], unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT)
		f.poff[d] += n
		if err != nil {
			if err == unix.EAGAIN {
				dst.wr = false
				return false
			}
			f.ioFailed(dir, err)
			return false
		}
		*b = (*b)[:0]
		pendPool.Put(b)
		f.pend[d] = nil
	}
	if f.inPipe[d] > 0 {
		if !dst.wr {
			return false
		}
		n, err := spliceAll(f.pipes[d][0], dst.fd, f.inPipe[d])
		f.inPipe[d] -= n
		if err != nil {
			if err == unix.EAGAIN {
				dst.wr = false
				return false
			}
			f.ioFailed(dir, err)
			return false
		}
	}
	if f.eof[d] {
		if !f.shut[d] {
			if !f.finHeld[d] && !f.eof[1-d] {
				// The first FIN of a flow waits for the loop's next
				// poll (as in HAProxy, whose loop passes it on its next
				// turn): a client that closes on its own after a
				// response often does meanwhile; the two FINs then
				// close both sockets at once (no shutdown), and the
				// client, closing first, keeps the TIME_WAIT, whose
				// set-up and the teardown of its socket run on the
				// proxy's core instead of the client's.
				f.finHeld[d] = true
				if !f.holding {
					f.holding = true
					l.held = append(l.held, f)
				}
				return false
			}
			f.passFin(d)
		}
		return false
	}
	if !src.rd || *budget <= 0 {
		return false
	}
	*budget--
	var n int
	var err error
	full := false
	if f.bulk[d] {
		if f.pipes[d][0] < 0 {
			if f.pipes[d], err = l.getPipe(); err != nil {
				f.ioFailed(dir, err)
				return false
			}
		}
		n, err = sysSplice(src.fd, f.pipes[d][1], pipeSize)
		// A pipe may hold less than pipeSize: only EAGAIN tells that the
		// socket is drained.
		full = true
	} else {
		n, err = sysRead(src.fd, l.buf)
		full = n == len(l.buf)
	}
	if err != nil {
		if err == unix.EAGAIN {
			src.rd = false
			return false
		}
		f.ioFailed(dir, err)
		return false
	}
	if n == 0 {
		f.eof[d] = true
		return true
	}
	if !full {
		// A short read drained the socket: the next arrival is a new edge.
		// If the peer's FIN had arrived before, this was the last data.
		src.rd = false
		if src.hup && !src.err {
			f.eof[d] = true
		}
	}
	if dir == ipvs.DirIn {
		l.p.cnt.bytesIn.Add(uint64(n))
	} else {
		l.p.cnt.bytesOut.Add(uint64(n))
	}
	// The core hears of the data at most once a jiffy (its clock's unit:
	// the entry's timer is as fresh), or per chunk; the rest goes with the
	// next report, the FIN (in the same packet) or the sweep. A call into
	// the core per message is not needed.
	f.unrep[d] += int64(n)
	if (l.now.Sub(f.fedAt) >= ipvs.Jiffy || f.unrep[d] >= l.p.opts.ChunkSize) && !f.report(d) {
		return false
	}
	if f.bulk[d] {
		f.inPipe[d] = n
		return true
	}
	if full {
		f.bulk[d] = true // bulk: splice from now on
	}
	// Write at once from the loop's buffer; keep only what does not fit.
	// Data that came with its source's FIN leaves with the FIN, in one
	// segment (MSG_MORE, then the shutdown), as HAProxy sends it: the
	// receiver wakes once for both. (A FIN that comes alone waits for the
	// next poll, see above.)
	w := 0
	more := 0
	if f.eof[d] {
		more = unix.MSG_MORE
	}
	if dst.wr {
		w, err = sendAll(dst.fd, l.buf[:n], unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT|more)
		if err != nil && err != unix.EAGAIN {
			f.ioFailed(dir, err)
			return false
		}
	}
	if w < n {
		dst.wr = false
		b := pendPool.Get().(*[]byte)
		*b = append((*b)[:0], l.buf[w:n]...)
		f.pend[d], f.poff[d] = b, 0
	} else if more != 0 {
		f.passFin(d)
		return false
	}
	return true
}

// report gives the core the bytes direction d spliced since its last
// report; it reports whether the flow's entry is still there.
func (f *eflow) report(d int) bool {
	n := f.unrep[d]
	if n == 0 {
		return true
	}
	f.unrep[d] = 0
	dir := ipvs.DirIn
	if d == 1 {
		dir = ipvs.DirOut
	}
	if !f.feed(dir, ipvs.TCPAck|ipvs.TCPPsh, int(min(n, 1<<30))) {
		f.expire()
		return false
	}
	return true
}

// passFin passes direction d's FIN on once its data is out. The second FIN
// closes both sockets (each has been read to its end, so close sends a
// FIN): no shutdown call is needed for it.
func (f *eflow) passFin(d int) {
	dir := ipvs.DirIn
	dst := &f.b
	if d == 1 {
		dir, dst = ipvs.DirOut, &f.c
	}
	f.shut[d] = true
	f.lastFin1 = d == 1
	// The data not yet reported goes with the FIN, as the last segment
	// often carries both.
	n := f.unrep[d]
	f.unrep[d] = 0
	if !f.feed(dir, ipvs.TCPFin|ipvs.TCPAck|psh(n), int(min(n, 1<<30))) {
		f.expire()
		return
	}
	if !f.shut[1-d] && f.eof[1-d] && f.pend[1-d] == nil && f.inPipe[1-d] == 0 {
		// The other side's FIN is here too and its data is out: it
		// is passed at once, and closing both sockets sends both FINs.
		f.passFin(1 - d)
		return
	}
	if f.shut[1-d] {
		// The last FIN is acknowledged by the other side.
		if f.lastFin1 {
			f.feed(ipvs.DirIn, ipvs.TCPAck, 0)
		} else {
			f.feed(ipvs.DirOut, ipvs.TCPAck, 0)
		}
		f.finish(false)
		return
	}
	if err := sysShutdown(dst.fd, unix.SHUT_WR); err != nil {
		f.l.p.cnt.errors.Add(1)
		f.abort()
	}
}

func psh(n int64) uint8 {
	if n > 0 {
		return ipvs.TCPPsh
	}
	return 0
}

// ioFailed ends the flow after a reset or I/O error on either side.
func (f *eflow) ioFailed(dir ipvs.Direction, _ error) {
	f.l.p.cnt.errors.Add(1)
	if f.report(0) && f.report(1) {
		f.feed(dir, ipvs.TCPRst, 0)
	}
	f.abort()
}

// expire ends a relay whose core entry is gone: the client and the real
// server get a RST, as they would from a kernel director that no longer
// knows the connection.
func (f *eflow) expire() {
	if f.state != flowDone {
		f.l.p.cnt.expired.Add(1)
		f.abort()
	}
}

// abort resets both sides.
func (f *eflow) abort() { f.finish(true) }

// finish closes the flow's sockets (with a RST when reset) and releases it.
func (f *eflow) finish(reset bool) {
	if f.state == flowDone {
		return
	}
	f.state = flowDone
	l := f.l
	for _, ep := range [2]*endpoint{&f.c, &f.b} {
		if ep.fd < 0 {
			continue
		}
		l.forget(ep)
		if reset {
			resetFd(ep.fd)
		} else {
			sysClose(ep.fd)
		}
		ep.fd = -1
	}
	for d := range 2 {
		if b := f.pend[d]; b != nil {
			*b = (*b)[:0]
			pendPool.Put(b)
			f.pend[d] = nil
		}
		if f.pipes[d][0] >= 0 {
			l.putPipe(f.pipes[d], f.inPipe[d] == 0)
			f.pipes[d] = [2]int{-1, -1}
		}
	}
	f.prev.next, f.next.prev = f.next, f.prev
	f.prev, f.next = nil, nil
	if f.counted {
		l.p.cnt.activeFlows.Add(-1)
	}
	l.p.flowWG.Done()
	l.nflows--
	if !f.queued && !f.holding && len(l.free) < maxFree {
		// Reused by a later connection (a flow still queued is left to
		// the collector).
		*f = eflow{}
		l.free = append(l.free, f)
	}
}

// feed reports one segment of the flow to the core (see flowPacket) and
// reports whether the flow's entry is still there.
func (f *eflow) feed(dir ipvs.Direction, flags uint8, payload int) bool {
	if f.conn == nil {
		return true // bypass: no entry to drive
	}
	l := f.l
	if !flowPacket(&l.pkt, dir, flags, payload, f.mark, f.nat, f.src, f.dst, f.outSrc) {
		return true
	}
	now := l.now
	res := l.p.process(&l.pkt, now)
	if res.Verdict != ipvs.VerdictForward || res.Conn != f.conn {
		return false
	}
	f.expires = now.Add(f.l.p.stateTimeout(f.conn.StateName()))
	f.fedAt = now
	return true
}

// maxFree bounds the finished flows a loop keeps for reuse.
const maxFree = 1024

func (l *evloop) newFlow() *eflow {
	var f *eflow
	if n := len(l.free); n > 0 {
		f = l.free[n-1]
		l.free[n-1] = nil
		l.free = l.free[:n-1]
	} else {
		f = new(eflow)
	}
	f.l = l
	return f
}

// ---- pipes --------------------------------------------------------------------------------------

// pipeSize is the capacity asked for a splice pipe (as Go's io.Copy does):
// a bulk direction moves up to this much per pair of splices.
const pipeSize = 1 << 20

// maxPipes bounds the idle pipes a loop keeps.
const maxPipes = 64

func (l *evloop) getPipe() ([2]int, error) {
	if n := len(l.pipes); n > 0 {
		pp := l.pipes[n-1]
		l.pipes = l.pipes[:n-1]
		return pp, nil
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return [2]int{-1, -1}, err
	}
	// A smaller pipe (limits) works too, with more calls.
	unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, pipeSize)
	return fds, nil
}

func (l *evloop) putPipe(pp [2]int, empty bool) {
	if empty && len(l.pipes) < maxPipes {
		l.pipes = append(l.pipes, pp)
		return
	}
	sysClose(pp[0])
	sysClose(pp[1])
}

// ---- sweep and shutdown -------------------------------------------------------------------------

// sweepLoops runs the timer sweep on every loop and waits for it: partial
// chunks are reported (so a slow spliced flow keeps its entry), relays whose
// core entries are gone are closed.
func (p *Proxy) sweepLoops(now ipvs.Time) {
	var wg sync.WaitGroup
	for _, l := range p.loops {
		wg.Add(1)
		posted := l.post(func() {
			defer wg.Done()
			l.now = now
			l.expireDials()
			for f := l.flows.next; f != &l.flows; {
				next := f.next
				l.sweepFlow(f, now)
				f = next
			}
		})
		if !posted {
			wg.Done()
		}
	}
	wg.Wait()
}

func (l *evloop) sweepFlow(f *eflow, now ipvs.Time) {
	if f.conn == nil || f.state != flowRelay {
		return
	}
	// Data not yet reported refreshes the entry's timer as of now: only
	// if it is recent (within a tick), so that an idle flow's entry is not
	// kept beyond its timeout; older data waits for the flow's next report.
	if now.Sub(f.fedAt) <= l.p.opts.Tick && (!f.report(0) || !f.report(1)) {
		return
	}
	if d := f.rs; f.expires > now && (d == nil || d.Available()) {
		return
	}
	ok, left := l.p.alive(ipvs.ProtoTCP, f.mark, f.src, f.dst, f.dest, now)
	if ok {
		f.expires = now.Add(max(left, l.p.opts.Tick))
		return
	}
	f.expire()
}

// abortLoops resets every flow of every loop.
func (p *Proxy) abortLoops() {
	for _, l := range p.loops {
		l.call(func() {
			for f := l.flows.next; f != &l.flows; {
				next := f.next
				f.abort()
				f = next
			}
		})
	}
}

// stopLoops ends the loops once their flows are gone.
func (p *Proxy) stopLoops() {
	for _, l := range p.loops {
		l.post(func() { l.stop = true })
		<-l.done
	}
}

// ---- system calls without allocations ----------------------------------------------------------

// resetFd closes fd with a RST.
func resetFd(fd int) { sysReset(fd) }

// useLoops selects the event-loop engine; tests turn it off to run the
// goroutine engine.
var useLoops = true
