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
	in  chains // by hashIn: newest first, as hlist_add_head
	out chains // by hashOut
	_   [cacheLine - 8]byte
}

// chains is one shard's part of a hash table: bucket heads, each a chain
// through the entries' next pointers. It doubles when it holds more than
// two entries a bucket, keeping the order of every chain.
type chains struct {
	heads []*Conn
	n     int
}

const initialBuckets = 64

func (ch *chains) bucket(h uint64) int { return int((h / tableShards) & uint64(len(ch.heads)-1)) }

func nextOf(c *Conn, out bool) **Conn {
	if out {
		return &c.nextOut
	}
	return &c.nextIn
}

func hashOf(c *Conn, out bool) uint64 {
	if out {
		return c.hashOut
	}
	return c.hashIn
}

func (ch *chains) first(h uint64) *Conn {
	if len(ch.heads) == 0 {
		return nil
	}
	return ch.heads[ch.bucket(h)]
}

func (ch *chains) add(c *Conn, out bool) {
	if len(ch.heads) == 0 {
		ch.heads = make([]*Conn, initialBuckets)
	} else if ch.n >= 2*len(ch.heads) {
		ch.grow(out)
	}
	b := ch.bucket(hashOf(c, out))
	*nextOf(c, out) = ch.heads[b]
	ch.heads[b] = c
	ch.n++
}

func (ch *chains) grow(out bool) {
	old := ch.heads
	ch.heads = make([]*Conn, 2*len(old))
	var chain []*Conn
	for _, c := range old {
		chain = chain[:0]
		for ; c != nil; c = *nextOf(c, out) {
			chain = append(chain, c)
		}
		// Oldest first, so that each new chain keeps newest first.
		for i := len(chain) - 1; i >= 0; i-- {
			x := chain[i]
			b := ch.bucket(hashOf(x, out))
			*nextOf(x, out) = ch.heads[b]
			ch.heads[b] = x
		}
	}
}

func (ch *chains) remove(c *Conn, out bool) {
	if len(ch.heads) == 0 {
		return
	}
	p := &ch.heads[ch.bucket(hashOf(c, out))]
	for *p != nil {
		if *p == c {
			*p = *nextOf(c, out)
			*nextOf(c, out) = nil
			ch.n--
			return
		}
		p = nextOf(*p, out)
	}
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
	s.in.add(c, false)
	s.mu.Unlock()
	if c.kind&ConnTemplate == 0 {
		c.hashOut = t.outKey(c)
		s = &t.shards[c.hashOut%tableShards]
		s.mu.Lock()
		s.out.add(c, true)
		s.mu.Unlock()
	}
}

func (t *table) unhash(c *Conn) {
	s := &t.shards[c.hashIn%tableShards]
	s.mu.Lock()
	s.in.remove(c, false)
	s.mu.Unlock()
	if c.kind&ConnTemplate == 0 {
		s = &t.shards[c.hashOut%tableShards]
		s.mu.Lock()
		s.out.remove(c, true)
		s.mu.Unlock()
	}
}

// lookupIn finds a connection (not a template) by its client-side tuple
// (ip_vs_conn.c: __ip_vs_conn_in_get).
func (t *table) lookupIn(af Family, proto uint8, caddr addr16, cport uint16, vaddr addr16, vport uint16) *Conn {
	h := t.hashTuple(af, proto, caddr, cport, vaddr, vport)
	s := &t.shards[h%tableShards]
	s.mu.RLock()
	for c := s.in.first(h); c != nil; c = c.nextIn {
		if c.hashIn == h && c.af == af && c.protocol == proto && c.cport == cport && c.vport == vport &&
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
	for c := s.out.first(h); c != nil; c = c.nextOut {
		if c.hashOut != h || c.protocol != proto || c.cport != dport || c.caddr != dst {
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
	for c := s.in.first(h); c != nil; c = c.nextIn {
		if c.hashIn != h || c.kind&ConnTemplate == 0 || c.af != af || c.protocol != proto || c.cport != 0 ||
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
		for _, c := range s.in.heads {
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
