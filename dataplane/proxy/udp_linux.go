package proxy

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/golvs/golvs/ipvs"
)

// udpService serves one UDP virtual service: one socket on the virtual
// address receives the clients' datagrams; each session (client address and
// port, real server) has a connected socket to the real server, read by one
// epoll loop for the whole service. Sessions live in a table swept by the
// proxy's tick: no goroutine and no timer per session.
type udpService struct {
	p        *Proxy
	svc      atomic.Pointer[Service]
	conn     *net.UDPConn
	epfd     int
	evfd     int
	draining atomic.Bool
	wg       sync.WaitGroup

	mu     sync.RWMutex
	closed bool
	sess   map[udpKey]*udpSess
	byFd   map[int32]*udpSess
	// clients counts the sessions of each client: a draining service
	// (removed by Sync) serves only clients that have one.
	clients map[netip.AddrPort]int
}

type udpKey struct{ client, dest netip.AddrPort }

type udpSess struct {
	key    udpKey
	vip    netip.AddrPort
	outSrc netip.AddrPort
	fd     int // -1 once closed; guarded by udpService.mu
	conn   atomic.Pointer[ipvs.Conn]
	// rs is conn's real server, kept when conn is set: the core may reuse
	// an entry once it expired, so the sweep reads this and not conn.
	rs        atomic.Pointer[ipvs.Dest]
	nat       bool
	onePacket bool
	// expires is when the core entry is expected to expire (ipvs.Time).
	expires atomic.Int64
}

func (p *Proxy) listenUDP(s Service) (*udpService, error) {
	la := s.listenAddr()
	network := "udp4"
	if la.Addr().Is6() {
		network = "udp6"
	}
	c, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(la))
	if err != nil {
		return nil, err
	}
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		c.Close()
		return nil, err
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		c.Close()
		unix.Close(epfd)
		return nil, err
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}); err != nil {
		c.Close()
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, err
	}
	u := &udpService{p: p, conn: c, epfd: epfd, evfd: evfd,
		sess: make(map[udpKey]*udpSess), byFd: make(map[int32]*udpSess), clients: make(map[netip.AddrPort]int)}
	u.svc.Store(&s)
	u.wg.Add(2)
	go u.readClients()
	go u.readBackends()
	return u, nil
}

func udpHdrLen(a netip.Addr) int {
	if a.Is6() {
		return 48
	}
	return 28
}

// virtual is the destination the core sees: the service's address and
// port, or the socket's.
func (u *udpService) virtual() netip.AddrPort {
	svc := u.svc.Load()
	la := svc.listenAddr()
	if svc.Key.FWMark == 0 && svc.Key.Addr.IsValid() && !svc.Key.Addr.IsUnspecified() {
		la = netip.AddrPortFrom(svc.Key.Addr.Unmap(), la.Port())
	}
	if svc.Key.Port != 0 {
		la = netip.AddrPortFrom(la.Addr(), svc.Key.Port)
	}
	return la
}

func (u *udpService) readClients() {
	defer u.wg.Done()
	p := u.p
	buf := make([]byte, 65535)
	pkt := new(ipvs.Packet)
	for {
		n, from, err := u.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			p.cnt.errors.Add(1)
			continue
		}
		client := netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if u.draining.Load() {
			u.mu.RLock()
			known := u.clients[client] > 0
			u.mu.RUnlock()
			if !known {
				// Not served any more: the datagram never reaches the core.
				p.cnt.udpDropped.Add(1)
				continue
			}
		}
		vip := u.virtual()
		*pkt = ipvs.Packet{
			Protocol: ipvs.ProtoUDP, Src: client.Addr(), SrcPort: client.Port(),
			Dst: vip.Addr(), DstPort: vip.Port(), Dir: ipvs.DirIn,
			Len: n + udpHdrLen(client.Addr()), Payload: buf[:n],
		}
		now := p.now()
		res := p.process(pkt, now)
		if res.Verdict != ipvs.VerdictForward || res.Conn == nil {
			// The kernel would answer ICMP unreachable (Reject) or drop.
			p.cnt.udpDropped.Add(1)
			continue
		}
		key := udpKey{client: client, dest: res.Conn.DestAddrPort()}
		u.mu.RLock()
		s := u.sess[key]
		if s != nil {
			u.send(s, res.Conn, buf[:n], now)
			u.mu.RUnlock()
			continue
		}
		u.mu.RUnlock()
		s, err = u.newSess(key, vip, res.Conn, now)
		if err != nil {
			p.cnt.errors.Add(1)
			p.cnt.udpDropped.Add(1)
			continue
		}
		u.mu.RLock()
		u.send(s, res.Conn, buf[:n], now)
		u.mu.RUnlock()
	}
}

// send writes a client's datagram to the session's real server. Called
// with u.mu read-locked.
func (u *udpService) send(s *udpSess, c *ipvs.Conn, b []byte, now ipvs.Time) {
	p := u.p
	if s.fd < 0 {
		p.cnt.udpDropped.Add(1)
		return
	}
	if s.conn.Load() != c {
		s.conn.Store(c)
		s.rs.Store(c.Dest())
	}
	s.expires.Store(int64(now.Add(p.timeouts.Load().UDP)))
	if _, err := unix.Write(s.fd, b); err != nil {
		p.cnt.udpDropped.Add(1)
		return
	}
	p.cnt.udpIn.Add(1)
	p.cnt.bytesIn.Add(uint64(len(b)))
}

func (u *udpService) newSess(key udpKey, vip netip.AddrPort, c *ipvs.Conn, now ipvs.Time) (*udpSess, error) {
	fd, err := udpSocket(key.client, key.dest, u.p.opts.Transparent)
	if err != nil {
		return nil, err
	}
	flags := c.Flags()
	s := &udpSess{key: key, vip: vip, fd: fd,
		nat:       ipvs.FwdMethod(flags&ipvs.ConnFwdMask) == ipvs.FwdMasq,
		onePacket: flags&ipvs.ConnOnePacket != 0}
	s.outSrc = key.dest
	if !s.nat {
		s.outSrc = vip
	}
	s.conn.Store(c)
	s.rs.Store(c.Dest())
	s.expires.Store(int64(now.Add(u.p.timeouts.Load().UDP)))
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		unix.Close(fd)
		return nil, net.ErrClosed
	}
	if old := u.sess[key]; old != nil {
		unix.Close(fd)
		return old, nil
	}
	if err := unix.EpollCtl(u.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	u.sess[key] = s
	u.byFd[int32(fd)] = s
	u.clients[key.client]++
	u.p.cnt.udpSessions.Add(1)
	return s, nil
}

// closeSess closes a session; called with u.mu locked.
func (u *udpService) closeSess(s *udpSess) {
	if s.fd < 0 {
		return
	}
	unix.EpollCtl(u.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
	unix.Close(s.fd)
	delete(u.byFd, int32(s.fd))
	delete(u.sess, s.key)
	if u.clients[s.key.client]--; u.clients[s.key.client] <= 0 {
		delete(u.clients, s.key.client)
	}
	s.fd = -1
	u.p.cnt.udpSessions.Add(-1)
}

func (u *udpService) readBackends() {
	defer u.wg.Done()
	events := make([]unix.EpollEvent, 128)
	buf := make([]byte, 65535)
	pkt := new(ipvs.Packet)
	for {
		n, err := unix.EpollWait(u.epfd, events, -1)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			u.p.cnt.errors.Add(1)
			return
		}
		for i := range events[:n] {
			fd := events[i].Fd
			if fd == int32(u.evfd) {
				return
			}
			u.mu.RLock()
			if s := u.byFd[fd]; s != nil {
				u.drain(s, buf, pkt)
			}
			u.mu.RUnlock()
		}
	}
}

// drain relays the real server's datagrams waiting on a session's socket
// (at most 64, to be fair to other sessions) back to the client, through the
// virtual address's socket. Called with u.mu read-locked.
func (u *udpService) drain(s *udpSess, buf []byte, pkt *ipvs.Packet) {
	p := u.p
	for range 64 {
		m, err := unix.Read(s.fd, buf)
		if err != nil {
			if err == unix.EAGAIN || err == unix.EINTR {
				return
			}
			// ECONNREFUSED and the like: an ICMP error from the real
			// server, which a user-space director cannot pass on.
			p.cnt.udpDropped.Add(1)
			continue
		}
		now := p.now()
		if s.nat && !s.onePacket {
			*pkt = ipvs.Packet{
				Protocol: ipvs.ProtoUDP, Src: s.outSrc.Addr(), SrcPort: s.outSrc.Port(),
				Dst: s.key.client.Addr(), DstPort: s.key.client.Port(), Dir: ipvs.DirOut,
				Len: m + udpHdrLen(s.outSrc.Addr()),
			}
			res := p.process(pkt, now)
			if res.Verdict != ipvs.VerdictForward {
				// No entry: the kernel would not translate the reply.
				p.cnt.udpDropped.Add(1)
				continue
			}
			s.expires.Store(int64(now.Add(p.timeouts.Load().UDP)))
		}
		if _, err := u.conn.WriteToUDPAddrPort(buf[:m], s.key.client); err != nil {
			p.cnt.udpDropped.Add(1)
			continue
		}
		p.cnt.udpOut.Add(1)
		p.cnt.bytesOut.Add(uint64(m))
	}
}

// sweep closes the sessions whose core entries are gone; it closes the
// whole service and returns true when it is draining and has no session.
func (u *udpService) sweep(now ipvs.Time) bool {
	p := u.p
	u.mu.Lock()
	for _, s := range u.sess {
		d := s.rs.Load()
		if ipvs.Time(s.expires.Load()) > now && (d == nil || d.Available()) {
			continue
		}
		if !s.onePacket {
			if ok, left := p.alive(ipvs.ProtoUDP, 0, s.key.client, s.vip, s.key.dest, now); ok {
				s.expires.Store(int64(now.Add(max(left, p.opts.Tick))))
				continue
			}
		} else if ipvs.Time(s.expires.Load()) > now {
			continue
		}
		u.closeSess(s)
	}
	empty := len(u.sess) == 0
	u.mu.Unlock()
	if u.draining.Load() && empty {
		u.close()
		return true
	}
	return false
}

func (u *udpService) close() {
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return
	}
	u.closed = true
	u.mu.Unlock()
	u.conn.Close()
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(u.evfd, one[:])
	u.wg.Wait()
	u.mu.Lock()
	for _, s := range u.sess {
		u.closeSess(s)
	}
	u.mu.Unlock()
	unix.Close(u.epfd)
	unix.Close(u.evfd)
}

func sockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}
	}
	return &unix.SockaddrInet6{Addr: ap.Addr().As16(), Port: int(ap.Port())}
}

// udpSocket returns a non-blocking UDP socket connected to dest; in
// transparent mode bound to the client's address (its port when free).
func udpSocket(client, dest netip.AddrPort, transparent bool) (int, error) {
	af := unix.AF_INET
	if dest.Addr().Is6() {
		af = unix.AF_INET6
	}
	fd, err := unix.Socket(af, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if transparent && client.Addr().Is6() == dest.Addr().Is6() {
		if err := setTransparent(fd, af == unix.AF_INET6); err != nil {
			unix.Close(fd)
			return -1, err
		}
		if err := unix.Bind(fd, sockaddr(client)); err != nil {
			if err != unix.EADDRINUSE {
				unix.Close(fd)
				return -1, err
			}
			if err := unix.Bind(fd, sockaddr(netip.AddrPortFrom(client.Addr(), 0))); err != nil {
				unix.Close(fd)
				return -1, err
			}
		}
	}
	if err := unix.Connect(fd, sockaddr(dest)); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
