package ipvs

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

const (
	shardBits   = 6
	tableShards = 1 << shardBits
	// cacheLine pads shard locks apart so that lookups on different shards
	// do not share a cache line.
	cacheLine = 64
)

// shard is one lock's part of the table. As in the kernel
// (ip_vs_conn_hashkey_param), an entry is hashed once, by its client-side
// address and port: replies carry the same pair as their destination, so
// both directions look up the same slots.
//
// Templates have their own index: a template lookup, once per new
// connection of a persistent service, then probes a small array that stays
// in cache instead of the slots of every connection (the kernel keeps one
// table; which entries a lookup can find is the same).
type shard struct {
	mu  sync.RWMutex
	ix  index  // connections
	tx  index  // templates
	seq uint32 // entries created in this shard
	_   [2*cacheLine - 92]byte
}

func (s *shard) indexOf(c *Conn) *index {
	if c.kind.Load()&ConnTemplate != 0 {
		return &s.tx
	}
	return &s.ix
}

// index is one shard's part of the hash table: open addressing with
// linear probing over links that carry the entry's hash, so that a lookup
// reads entries of other keys only from the slot array (a cache line holds
// four slots) and loads just the entry it finds. Entries of one key are
// told apart by age: the newest wins, as the kernel's lookups find the
// newest first (hlist_add_head).
type index struct {
	slots []link
	n     int
}

// link points to an entry, with the entry's hash.
type link struct {
	c *Conn
	h uint64
}

const initialSlots = 64

func (ix *index) home(h uint64) int { return int((h / tableShards) & uint64(len(ix.slots)-1)) }

// newer reports whether a was created after b (seq is a wrapping counter).
func newer(a, b *Conn) bool { return int32(a.seq-b.seq) > 0 }

func (ix *index) add(c *Conn, h uint64) {
	if len(ix.slots) == 0 {
		ix.slots = make([]link, initialSlots)
	} else if 4*(ix.n+1) > 3*len(ix.slots) {
		ix.grow()
	}
	ix.put(link{c, h})
	ix.n++
}

func (ix *index) put(l link) {
	mask := len(ix.slots) - 1
	i := ix.home(l.h)
	for ix.slots[i].c != nil {
		i = (i + 1) & mask
	}
	ix.slots[i] = l
}

func (ix *index) grow() {
	old := ix.slots
	ix.slots = make([]link, 2*len(old))
	for _, l := range old {
		if l.c != nil {
			ix.put(l)
		}
	}
}

// remove deletes c's slot and shifts the rest of its cluster back, so
// that no probe sequence is broken (no tombstones).
func (ix *index) remove(c *Conn, h uint64) {
	if len(ix.slots) == 0 {
		return
	}
	mask := len(ix.slots) - 1
	i := ix.home(h)
	for ix.slots[i].c != c {
		if ix.slots[i].c == nil {
			return
		}
		i = (i + 1) & mask
	}
	for j := i; ; {
		j = (j + 1) & mask
		l := ix.slots[j]
		if l.c == nil {
			break
		}
		// The entry at j may fill the hole at i unless its home lies
		// cyclically in (i, j].
		if k := ix.home(l.h); (i <= j && (k <= i || k > j)) || (i > j && k <= i && k > j) {
			ix.slots[i] = l
			i = j
		}
	}
	ix.slots[i] = link{}
	ix.n--
}

// table is the connection table: entries indexed in both directions in
// sharded maps, with one deadline heap for all timers.
type table struct {
	seed   uint64
	shards [tableShards]shard
	// count is the number of entries, in stripes (see Stats).
	count [lockStripes]struct {
		n atomic.Int64
		_ [cacheLine - 8]byte
	}
	seq atomic.Uint64

	refused atomic.Uint64

	// pe holds the persistence-engine data of the entries marked
	// connHasPE (templates of SIP services): rare, so kept out of Conn.
	peMu sync.Mutex
	pe   map[*Conn]*peData

	timers
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

// hashKey mirrors ip_vs_conn_hashkey: family, protocol, client address
// and port (the masked address and port 0 for templates).
func (t *table) hashKey(af Family, proto uint8, caddr addr16, cport uint16) uint64 {
	h := mix(t.seed, uint64(af)<<24|uint64(proto)<<16|uint64(cport))
	h = mix(h, binary.LittleEndian.Uint64(caddr[:8]))
	return mix(h, binary.LittleEndian.Uint64(caddr[8:]))
}

func (t *table) key(c *Conn) uint64 { return t.hashKey(c.af, c.protocol, c.caddr, c.cport) }

// insert hashes c (ip_vs_conn_hash: at the head of its chain). Its seq
// counts in its shard (the low bits name the shard): lookups compare the
// ages of entries of one key, which share a shard, and no counter is
// shared by all cores.
func (t *table) insert(c *Conn) {
	h := t.key(c)
	si := h % tableShards
	s := &t.shards[si]
	s.mu.Lock()
	s.seq++
	c.seq = s.seq<<shardBits | uint32(si)
	s.indexOf(c).add(c, h)
	s.mu.Unlock()
	t.counted(c, 1)
}

func (t *table) counted(c *Conn, n int64) { t.count[c.stripe()%lockStripes].n.Add(n) }

// len returns the number of entries.
func (t *table) len() int64 {
	var n int64
	for i := range t.count {
		n += t.count[i].n.Load()
	}
	return n
}

func (t *table) hash(c *Conn) {
	h := t.key(c)
	s := &t.shards[h%tableShards]
	s.mu.Lock()
	s.indexOf(c).add(c, h)
	s.mu.Unlock()
}

func (t *table) unhash(c *Conn) {
	h := t.key(c)
	s := &t.shards[h%tableShards]
	s.mu.Lock()
	s.indexOf(c).remove(c, h)
	s.mu.Unlock()
}

func (t *table) setPE(c *Conn, pe *peData) {
	t.peMu.Lock()
	if t.pe == nil {
		t.pe = make(map[*Conn]*peData)
	}
	t.pe[c] = pe
	t.peMu.Unlock()
}

// peOf returns c's persistence-engine data, nil when it has none.
func (t *table) peOf(c *Conn) *peData {
	if c.kind.Load()&connHasPE == 0 {
		return nil
	}
	t.peMu.Lock()
	defer t.peMu.Unlock()
	return t.pe[c]
}

func (t *table) dropPE(c *Conn) {
	if c.kind.Load()&connHasPE != 0 {
		t.peMu.Lock()
		delete(t.pe, c)
		t.peMu.Unlock()
	}
}

// lookupIn finds a connection (not a template) by its client-side tuple
// (ip_vs_conn.c: __ip_vs_conn_in_get).
func (t *table) lookupIn(af Family, proto uint8, caddr addr16, cport uint16, vaddr addr16, vport uint16) *Conn {
	h := t.hashKey(af, proto, caddr, cport)
	s := &t.shards[h%tableShards]
	s.mu.RLock()
	var found *Conn
	if ix := &s.ix; len(ix.slots) > 0 {
		mask := len(ix.slots) - 1
		for i := ix.home(h); ix.slots[i].c != nil; i = (i + 1) & mask {
			l := ix.slots[i]
			if l.h != h {
				continue
			}
			c := l.c
			if c.cport == cport && c.vport == vport && c.af == af && c.protocol == proto &&
				c.caddr == caddr && c.vaddr == vaddr && c.kind.Load()&(ConnTemplate|ConnNoCport) == 0 &&
				(found == nil || newer(c, found)) {
				found = c
			}
		}
	}
	s.mu.RUnlock()
	return found
}

// lookupOut finds a connection by a reply's tuple (ip_vs_conn.c:
// ip_vs_conn_out_get): src is the real server (NAT) or virtual address.
func (t *table) lookupOut(af Family, proto uint8, src addr16, sport uint16, dst addr16, dport uint16) *Conn {
	h := t.hashKey(af, proto, dst, dport)
	s := &t.shards[h%tableShards]
	s.mu.RLock()
	var found *Conn
	if ix := &s.ix; len(ix.slots) > 0 {
		mask := len(ix.slots) - 1
		for i := ix.home(h); ix.slots[i].c != nil; i = (i + 1) & mask {
			l := ix.slots[i]
			if l.h != h {
				continue
			}
			c := l.c
			kind := c.kind.Load()
			if c.cport != dport || c.protocol != proto || c.caddr != dst || kind&ConnTemplate != 0 {
				continue
			}
			var match bool
			if FwdMethod(kind&ConnFwdMask) == FwdMasq {
				match = c.daf == af && c.daddr == src && c.dport == sport
			} else {
				match = c.af == af && c.vaddr == src && c.vport == sport
			}
			if match && (found == nil || newer(c, found)) {
				found = c
			}
		}
	}
	s.mu.RUnlock()
	return found
}

// lookupTemplate finds a template (ip_vs_conn.c: ip_vs_ct_in_get). vaddr
// holds the mark for fwmark templates (protocol ProtoIP).
func (t *table) lookupTemplate(af Family, proto uint8, snet addr16, vaddr addr16, vport uint16, pe *peData) *Conn {
	h := t.hashKey(af, proto, snet, 0)
	s := &t.shards[h%tableShards]
	s.mu.RLock()
	defer s.mu.RUnlock()
	ix := &s.tx
	if len(ix.slots) == 0 {
		return nil
	}
	var found *Conn
	mask := len(ix.slots) - 1
	for i := ix.home(h); ix.slots[i].c != nil; i = (i + 1) & mask {
		l := ix.slots[i]
		if l.h != h {
			continue
		}
		c := l.c
		kind := c.kind.Load()
		if kind&ConnTemplate == 0 || c.cport != 0 || c.vport != vport || c.af != af || c.protocol != proto ||
			c.caddr != snet {
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
			cpe := t.peOf(c)
			if cpe == nil || cpe.name != pe.name || cpe.data != pe.data {
				continue
			}
		} else if kind&connHasPE != 0 {
			continue
		}
		if found == nil || newer(c, found) {
			found = c
		}
	}
	return found
}

// forEach calls f for every hashed entry. f runs without table locks held
// (entries are collected first), so it may lock the entries.
func (t *table) forEach(f func(c *Conn)) {
	var all []*Conn
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.RLock()
		for _, ix := range [...]*index{&s.ix, &s.tx} {
			for _, l := range ix.slots {
				if l.c != nil {
					all = append(all, l.c)
				}
			}
		}
		s.mu.RUnlock()
	}
	for _, c := range all {
		f(c)
	}
}
