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

// shard is one lock's part of the table. As in the kernel
// (ip_vs_conn_hashkey_param), an entry is hashed once, by its client-side
// address and port: replies carry the same pair as their destination, so
// both directions look up the same slots.
//
// Entries are looked up without the lock (the kernel's lookups run under
// RCU): their key fields never change once they are in the table, but for
// a template's ports, which ip_vs_check_template re-keys in place and
// lookups read atomically (Conn.tports); the index publishes slots
// atomically. Templates have their own index: a template lookup, once per
// new connection of a persistent service, probes a small array that stays
// in cache (the kernel keeps one table; which entries a lookup finds is
// the same).
type shard struct {
	mu sync.Mutex
	ix index // connections
	tx index // templates
	_  [2*cacheLine - 56]byte
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
//
// Writers hold the shard's lock; readers need none. A slot goes from empty
// or a tombstone to an entry (hash stored before the pointer), from an
// entry to a tombstone, or, at the end of a cluster, back to empty; entries
// never move within an array, so a probe never misses one that stays.
// Growing, or clearing tombstones, fills a new array and publishes it; a
// reader still walking the old one sees it as it was. Connections leave the
// table only while the director is held exclusively (Advance, edits), so
// packets' lookups do not race with their removal; templates are also
// re-keyed during packets, under the shard's lock: a lookup meanwhile finds
// the template under its old key or its new one, or misses it, as an RCU
// reader of the kernel's table.
//
// A slot keeps the pointer and the hash together: a lookup that finds its
// entry reads one line of slots. (Tags kept apart from the pointers, four
// bytes each, made slots smaller, 169 against 178 B per entry before timer
// arrays, but a found entry then cost two lines: packets of existing
// connections were 10 % slower.)
type index struct {
	arr  atomic.Pointer[slotArray]
	n    int // entries
	tomb int // tombstones in arr
}

type slotArray struct{ s []link }

// link points to an entry, with the entry's hash.
type link struct {
	c atomic.Pointer[Conn]
	h atomic.Uint64
}

// tombstone marks a slot whose entry left: probes go on past it.
var tombstone = new(Conn)

const initialSlots = 64

func home(a *slotArray, h uint64) int { return int((h / tableShards) & uint64(len(a.s)-1)) }

// newer reports whether a was created after b (seq is a wrapping counter).
func newer(a, b *Conn) bool { return int32(a.seq-b.seq) > 0 }

func (ix *index) add(c *Conn, h uint64) {
	a := ix.arr.Load()
	if a == nil {
		a = &slotArray{s: make([]link, initialSlots)}
		ix.arr.Store(a)
	} else if 4*(ix.n+ix.tomb+1) > 3*len(a.s) {
		a = ix.rehash(a)
	}
	mask := len(a.s) - 1
	i := home(a, h)
	for {
		x := a.s[i].c.Load()
		if x == nil {
			break
		}
		if x == tombstone {
			ix.tomb--
			break
		}
		i = (i + 1) & mask
	}
	a.s[i].h.Store(h)
	a.s[i].c.Store(c)
	ix.n++
}

// rehash moves the entries to a new array, without tombstones, twice as
// large when they fill more than 3/8 of the old one.
func (ix *index) rehash(old *slotArray) *slotArray {
	size := len(old.s)
	if 8*(ix.n+1) > 3*size {
		size *= 2
	}
	a := &slotArray{s: make([]link, size)}
	mask := size - 1
	for j := range old.s {
		c := old.s[j].c.Load()
		if c == nil || c == tombstone {
			continue
		}
		h := old.s[j].h.Load()
		i := home(a, h)
		for a.s[i].c.Load() != nil {
			i = (i + 1) & mask
		}
		a.s[i].h.Store(h)
		a.s[i].c.Store(c)
	}
	ix.arr.Store(a)
	ix.tomb = 0
	return a
}

// remove replaces c's slot with a tombstone, or with an empty slot at the
// end of a cluster (and the tombstones just before it too).
func (ix *index) remove(c *Conn, h uint64) {
	a := ix.arr.Load()
	if a == nil {
		return
	}
	mask := len(a.s) - 1
	i := home(a, h)
	for a.s[i].c.Load() != c {
		if a.s[i].c.Load() == nil {
			return
		}
		i = (i + 1) & mask
	}
	ix.n--
	if a.s[(i+1)&mask].c.Load() != nil {
		a.s[i].c.Store(tombstone)
		ix.tomb++
		return
	}
	a.s[i].c.Store(nil)
	for j := (i - 1) & mask; a.s[j].c.Load() == tombstone; j = (j - 1) & mask {
		a.s[j].c.Store(nil)
		ix.tomb--
	}
}

// warmBatch is how many firing entries warm reads ahead.
const warmBatch = 32

// warm reads, for entries about to leave the table, the slot at which
// their removal starts probing, all before the first removal: the reads
// are independent of each other, so their cache misses overlap instead of
// coming one at a time (an entry that times out has usually left the
// caches, and so has its slot). Called with the director held exclusively.
func (t *table) warm(batch []*Conn) {
	for _, c := range batch {
		h := t.key(c)
		if a := t.shards[h%tableShards].indexOf(c).arr.Load(); a != nil {
			a.s[home(a, h)].c.Load()
		}
	}
}

// each calls f for every entry of the index.
func (ix *index) each(f func(*Conn)) {
	a := ix.arr.Load()
	if a == nil {
		return
	}
	for i := range a.s {
		if c := a.s[i].c.Load(); c != nil && c != tombstone {
			f(c)
		}
	}
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
	t.timers.init()
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

// insert hashes c (ip_vs_conn_hash: at the head of its chain). seq
// orders entries by creation: listings show them in that order, and
// lookups prefer the newest entry of a key.
func (t *table) insert(c *Conn, st uint) {
	c.seq = uint32(t.seq.Add(1))
	t.hash(c)
	t.counted(st, 1)
}

// counted adds n to the entry count in stripe st: an entry may leave
// through another stripe than it came in, only the sum means anything.
func (t *table) counted(st uint, n int64) { t.count[st%lockStripes].n.Add(n) }

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

// unhashAlone is unhash for a caller holding the director exclusively: no
// packet holds a shard's lock then.
func (t *table) unhashAlone(c *Conn) {
	h := t.key(c)
	t.shards[h%tableShards].indexOf(c).remove(c, h)
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

// newest returns the newest entry of a under hash h that match accepts,
// walking h's probe sequence past tombstones up to an empty slot; match
// runs only for entries whose hash is h. Lookups skip an entry being freed
// (as __ip_vs_conn_get fails once its last reference is gone).
func (a *slotArray) newest(h uint64, match func(*Conn) bool) *Conn {
	if a == nil {
		return nil
	}
	var found *Conn
	mask := len(a.s) - 1
	for i := home(a, h); ; i = (i + 1) & mask {
		c := a.s[i].c.Load()
		if c == nil {
			return found
		}
		if c != tombstone && a.s[i].h.Load() == h && match(c) && (found == nil || newer(c, found)) {
			found = c
		}
	}
}

// lookupIn finds a connection (not a template) by its client-side tuple
// (ip_vs_conn.c: __ip_vs_conn_in_get).
func (t *table) lookupIn(af Family, proto uint8, caddr addr16, cport uint16, vaddr addr16, vport uint16) *Conn {
	h := t.hashKey(af, proto, caddr, cport)
	return t.shards[h%tableShards].ix.arr.Load().newest(h, func(c *Conn) bool {
		return c.cport == cport && c.vport == vport && c.af == af && c.protocol == proto &&
			c.caddr == caddr && c.vaddr == vaddr && c.kind.Load()&(ConnNoCport|connUnlinked) == 0
	})
}

// lookupOut finds a connection by a reply's tuple (ip_vs_conn.c:
// ip_vs_conn_out_get): src is the real server (NAT) or virtual address.
func (t *table) lookupOut(af Family, proto uint8, src addr16, sport uint16, dst addr16, dport uint16) *Conn {
	h := t.hashKey(af, proto, dst, dport)
	return t.shards[h%tableShards].ix.arr.Load().newest(h, func(c *Conn) bool {
		kind := c.kind.Load()
		if c.cport != dport || c.protocol != proto || c.caddr != dst || kind&connUnlinked != 0 {
			return false
		}
		if FwdMethod(kind&ConnFwdMask) == FwdMasq {
			return c.daf == af && c.daddr == src && c.dport == sport
		}
		return c.af == af && c.vaddr == src && c.vport == sport
	})
}

// lookupTemplate finds a template (ip_vs_conn.c: ip_vs_ct_in_get). vaddr
// holds the mark for fwmark templates (protocol ProtoIP). Like connection
// lookups it takes no lock: a template's ports, which
// ip_vs_check_template changes, are compared through tports; its other
// key fields never change.
func (t *table) lookupTemplate(af Family, proto uint8, snet addr16, vaddr addr16, vport uint16, pe *peData) *Conn {
	h := t.hashKey(af, proto, snet, 0)
	return t.shards[h%tableShards].tx.arr.Load().newest(h, func(c *Conn) bool {
		if c.tports.Load() != uint32(vport) || c.af != af || c.protocol != proto || c.caddr != snet {
			return false
		}
		if proto == ProtoIP {
			if [4]byte(c.vaddr[:4]) != [4]byte(vaddr[:4]) {
				return false
			}
		} else if c.vaddr != vaddr {
			return false
		}
		if pe == nil {
			return c.kind.Load()&connHasPE == 0
		}
		cpe := t.peOf(c)
		return cpe != nil && cpe.name == pe.name && cpe.data == pe.data
	})
}

// forEach calls f for every hashed entry. f runs without table locks held
// (entries are collected first), so it may lock the entries.
func (t *table) forEach(f func(c *Conn)) {
	var all []*Conn
	add := func(c *Conn) { all = append(all, c) }
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		s.ix.each(add)
		s.tx.each(add)
		s.mu.Unlock()
	}
	for _, c := range all {
		f(c)
	}
}
