package ipvs

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

const (
	tableShards = 64
	// cacheLine pads shard locks apart so that lookups on different shards
	// do not share a cache line.
	cacheLine = 64
)

type shard struct {
	mu  sync.RWMutex
	in  map[uint64]*Conn // chain heads by hashIn: newest first, as hlist_add_head
	out map[uint64]*Conn // chain heads by hashOut
	_   [cacheLine - 8]byte
}

// table is the connection table: entries indexed in both directions in
// sharded maps, with one deadline heap for all timers.
type table struct {
	seed   uint64
	shards [tableShards]shard
	count  atomic.Int64
	seq    atomic.Uint64

	refused atomic.Uint64

	tmu  sync.Mutex
	heap []*Conn
}

func newTable() *table {
	t := &table{seed: maphash.String(maphash.MakeSeed(), "golvs")}
	for i := range t.shards {
		t.shards[i].in = make(map[uint64]*Conn)
		t.shards[i].out = make(map[uint64]*Conn)
	}
	return t
}

func mix(h, v uint64) uint64 {
	h ^= v
	h *= 0x9E3779B97F4A7C15
	return h ^ h>>29
}

func (t *table) hashTuple(af Family, proto uint8, a addr16, aport uint16, b addr16, bport uint16) uint64 {
	h := mix(t.seed, uint64(af)<<24|uint64(proto)<<16|uint64(aport))
	h = mix(h, binary.LittleEndian.Uint64(a[:8]))
	h = mix(h, binary.LittleEndian.Uint64(a[8:]))
	h = mix(h, uint64(bport))
	h = mix(h, binary.LittleEndian.Uint64(b[:8]))
	h = mix(h, binary.LittleEndian.Uint64(b[8:]))
	return h
}

// inKey is the hash of the client-side tuple; templates hash the same way
// with cport 0 and the (masked) client address.
func (t *table) inKey(c *Conn) uint64 {
	return t.hashTuple(c.af, c.protocol, c.caddr, c.cport, c.vaddr, c.vport)
}

// outKey hashes what a reply from the real server carries: for NAT the
// real server's address; for other methods the virtual address.
func (t *table) outKey(c *Conn) uint64 {
	if FwdMethod(c.flags&ConnFwdMask) == FwdMasq {
		return t.hashTuple(c.daf, c.protocol, c.daddr, c.dport, c.caddr, c.cport)
	}
	return t.hashTuple(c.af, c.protocol, c.vaddr, c.vport, c.caddr, c.cport)
}

// insert hashes c (ip_vs_conn_hash: at the head of its chain).
func (t *table) insert(c *Conn) {
	c.seq = t.seq.Add(1)
	t.hash(c)
	t.count.Add(1)
}

func (t *table) hash(c *Conn) {
	c.hashIn = t.inKey(c)
	s := &t.shards[c.hashIn%tableShards]
	s.mu.Lock()
	c.nextIn = s.in[c.hashIn]
	s.in[c.hashIn] = c
	s.mu.Unlock()
	if c.flags&ConnTemplate == 0 {
		c.hashOut = t.outKey(c)
		s = &t.shards[c.hashOut%tableShards]
		s.mu.Lock()
		c.nextOut = s.out[c.hashOut]
		s.out[c.hashOut] = c
		s.mu.Unlock()
	}
}

func (t *table) unhash(c *Conn) {
	s := &t.shards[c.hashIn%tableShards]
	s.mu.Lock()
	unchain(s.in, c.hashIn, c, func(x *Conn) **Conn { return &x.nextIn })
	s.mu.Unlock()
	if c.flags&ConnTemplate == 0 {
		s = &t.shards[c.hashOut%tableShards]
		s.mu.Lock()
		unchain(s.out, c.hashOut, c, func(x *Conn) **Conn { return &x.nextOut })
		s.mu.Unlock()
	}
}

func unchain(m map[uint64]*Conn, h uint64, c *Conn, next func(*Conn) **Conn) {
	head := m[h]
	if head == c {
		if n := *next(c); n != nil {
			m[h] = n
		} else {
			delete(m, h)
		}
		*next(c) = nil
		return
	}
	for p := head; p != nil; p = *next(p) {
		if *next(p) == c {
			*next(p) = *next(c)
			*next(c) = nil
			return
		}
	}
}

// lookupIn finds a connection (not a template) by its client-side tuple
// (ip_vs_conn.c: __ip_vs_conn_in_get).
func (t *table) lookupIn(af Family, proto uint8, caddr addr16, cport uint16, vaddr addr16, vport uint16) *Conn {
	h := t.hashTuple(af, proto, caddr, cport, vaddr, vport)
	s := &t.shards[h%tableShards]
	s.mu.RLock()
	for c := s.in[h]; c != nil; c = c.nextIn {
		if c.af == af && c.protocol == proto && c.cport == cport && c.vport == vport &&
			c.caddr == caddr && c.vaddr == vaddr && c.flags&(ConnTemplate|ConnNoCport) == 0 {
			s.mu.RUnlock()
			return c
		}
	}
	s.mu.RUnlock()
	return nil
}

// lookupOut finds a connection by a reply's tuple (ip_vs_conn.c:
// ip_vs_conn_out_get): src is the real server (NAT) or virtual address.
func (t *table) lookupOut(af Family, proto uint8, src addr16, sport uint16, dst addr16, dport uint16) *Conn {
	h := t.hashTuple(af, proto, src, sport, dst, dport)
	s := &t.shards[h%tableShards]
	s.mu.RLock()
	for c := s.out[h]; c != nil; c = c.nextOut {
		if c.protocol != proto || c.cport != dport || c.caddr != dst {
			continue
		}
		if FwdMethod(c.flags&ConnFwdMask) == FwdMasq {
			if c.daf == af && c.daddr == src && c.dport == sport {
				s.mu.RUnlock()
				return c
			}
		} else if c.af == af && c.vaddr == src && c.vport == sport {
			s.mu.RUnlock()
			return c
		}
	}
	s.mu.RUnlock()
	return nil
}

// lookupTemplate finds a template (ip_vs_conn.c: ip_vs_ct_in_get). vaddr
// holds the mark for fwmark templates (protocol ProtoIP).
func (t *table) lookupTemplate(af Family, proto uint8, snet addr16, vaddr addr16, vport uint16, pe *peData) *Conn {
	h := t.hashTuple(af, proto, snet, 0, vaddr, vport)
	s := &t.shards[h%tableShards]
	s.mu.RLock()
	defer s.mu.RUnlock()
	for c := s.in[h]; c != nil; c = c.nextIn {
		if c.flags&ConnTemplate == 0 || c.af != af || c.protocol != proto || c.cport != 0 ||
			c.vport != vport || c.caddr != snet {
			continue
		}
		if proto == ProtoIP {
			if [4]byte(c.vaddr[:4]) != [4]byte(vaddr[:4]) {
				continue
			}
		} else if c.vaddr != vaddr {
			continue
		}
		if pe != nil {
			if c.pe == nil || c.pe.name != pe.name || c.pe.data != pe.data {
				continue
			}
		} else if c.pe != nil {
			continue
		}
		return c
	}
	return nil
}

// forEach calls f for every hashed entry; f must not change the table.
func (t *table) forEach(f func(c *Conn)) {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		for _, c := range s.in {
			for ; c != nil; c = c.nextIn {
				f(c)
			}
		}
		s.mu.RUnlock()
	}
}

// Timer heap: a min-heap on heapKey, with keys possibly earlier than the
// entries' deadlines (deadlines move later on every packet without touching
// the heap; Advance re-queues such entries).

func (t *table) timerAdd(c *Conn, at Time) {
	c.expires.Store(int64(at))
	t.tmu.Lock()
	t.push(c, at)
	t.tmu.Unlock()
}

func (t *table) push(c *Conn, at Time) {
	c.heapKey.Store(int64(at))
	c.heapIdx.Store(int32(len(t.heap)))
	t.heap = append(t.heap, c)
	t.up(len(t.heap) - 1)
}

// timerSet restarts c's timer at at.
func (t *table) timerSet(c *Conn, at Time) {
	c.expires.Store(int64(at))
	if c.heapIdx.Load() >= 0 && int64(at) >= c.heapKey.Load() {
		return
	}
	t.tmu.Lock()
	if i := c.heapIdx.Load(); i < 0 {
		t.push(c, at)
	} else if int64(at) < c.heapKey.Load() {
		c.heapKey.Store(int64(at))
		t.up(int(i))
	}
	t.tmu.Unlock()
}

// timerDel stops c's timer; it reports whether the timer was pending
// (del_timer).
func (t *table) timerDel(c *Conn) bool {
	t.tmu.Lock()
	defer t.tmu.Unlock()
	i := c.heapIdx.Load()
	if i < 0 {
		return false
	}
	t.removeAt(int(i))
	c.expires.Store(0)
	return true
}

func (t *table) less(i, j int) bool {
	a, b := t.heap[i], t.heap[j]
	if ak, bk := a.heapKey.Load(), b.heapKey.Load(); ak != bk {
		return ak < bk
	}
	return a.seq < b.seq
}

func (t *table) swap(i, j int) {
	t.heap[i], t.heap[j] = t.heap[j], t.heap[i]
	t.heap[i].heapIdx.Store(int32(i))
	t.heap[j].heapIdx.Store(int32(j))
}

func (t *table) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.less(i, p) {
			break
		}
		t.swap(i, p)
		i = p
	}
}

func (t *table) down(i int) {
	n := len(t.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && t.less(r, l) {
			m = r
		}
		if !t.less(m, i) {
			return
		}
		t.swap(i, m)
		i = m
	}
}

func (t *table) removeAt(i int) {
	n := len(t.heap) - 1
	c := t.heap[i]
	if i != n {
		t.swap(i, n)
	}
	t.heap[n] = nil
	t.heap = t.heap[:n]
	if i != n {
		t.down(i)
		t.up(i)
	}
	c.heapIdx.Store(-1)
}

// popDue removes and returns the earliest entry whose deadline is at or
// before now, with that deadline; entries whose deadline moved later are
// re-queued on the way.
func (t *table) popDue(now Time) (*Conn, Time) {
	t.tmu.Lock()
	defer t.tmu.Unlock()
	for len(t.heap) > 0 {
		c := t.heap[0]
		if Time(c.heapKey.Load()) > now {
			return nil, 0
		}
		exp := Time(c.expires.Load())
		if int64(exp) > c.heapKey.Load() {
			c.heapKey.Store(int64(exp))
			t.down(0)
			continue
		}
		t.removeAt(0)
		return c, exp
	}
	return nil, 0
}
