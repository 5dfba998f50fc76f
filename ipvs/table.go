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

	wheel
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
	if FwdMethod(c.kind&ConnFwdMask) == FwdMasq {
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
	if c.kind&ConnTemplate == 0 {
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
	if c.kind&ConnTemplate == 0 {
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
			c.caddr == caddr && c.vaddr == vaddr && c.kind&(ConnTemplate|ConnNoCport) == 0 {
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
		if FwdMethod(c.kind&ConnFwdMask) == FwdMasq {
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
		if c.kind&ConnTemplate == 0 || c.af != af || c.protocol != proto || c.cport != 0 ||
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

// forEach calls f for every hashed entry. f runs without table locks held
// (entries are collected first), so it may lock the entries.
func (t *table) forEach(f func(c *Conn)) {
	var all []*Conn
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		for _, c := range s.in {
			for ; c != nil; c = c.nextIn {
				all = append(all, c)
			}
		}
		s.mu.RUnlock()
	}
	for _, c := range all {
		f(c)
	}
}
