package ipvs

import "sync"

// Entries whose timers fire are reused for new entries, as the kernel
// takes ip_vs_conn from a slab cache (ip_vs_conn_cachep): a connection
// that lives its timeout and goes costs no allocation and no garbage.
//
// Only Advance frees entries into the pool, holding the director
// exclusively, and it puts them there when it is done: nothing in the
// director points to them any more, and no packet holds one (packets hold
// the director for reading). Callers that keep a *Conn past its expiry
// must not read it (see [Conn]).

// recycleBatch is how many entries move in and out of the pool at once:
// Advance runs on one processor and new connections on all, and whole
// batches keep the pool's stealing between processors rare.
const recycleBatch = 32

type connBatch struct {
	n int
	c [recycleBatch]*Conn
}

// recycler is the director's pool of free entries. The sync.Pool keeps a
// batch per processor and lets the garbage collector have the entries
// back when they stay unused (after a burst of connections).
type recycler struct {
	pool  sync.Pool  // *connBatch, full or partly used
	empty sync.Pool  // *connBatch, emptied
	fill  *connBatch // the batch being filled
	off   bool       // tests: never reuse
}

// get returns a free entry, or nil.
func (r *recycler) get() *Conn {
	b, _ := r.pool.Get().(*connBatch)
	if b == nil {
		return nil
	}
	b.n--
	c := b.c[b.n]
	b.c[b.n] = nil
	if b.n > 0 {
		r.pool.Put(b)
	} else {
		r.empty.Put(b)
	}
	return c
}

// free takes c, just freed by Advance (while Director.expiry.on), for
// reuse.
func (r *recycler) free(c *Conn) {
	b := r.fill
	if b == nil {
		b, _ = r.empty.Get().(*connBatch)
		if b == nil {
			b = new(connBatch)
		}
		r.fill = b
	}
	b.c[b.n] = c
	b.n++
	if b.n == recycleBatch {
		r.pool.Put(b)
		r.fill = nil
	}
}

// flush hands the batch being filled to the pool.
func (r *recycler) flush() {
	if b := r.fill; b != nil {
		r.pool.Put(b)
		r.fill = nil
	}
}

// allocConn returns a zeroed entry: a recycled one when there is one.
func (d *Director) allocConn() *Conn {
	if c := d.free.get(); c != nil {
		*c = Conn{}
		return c
	}
	return new(Conn)
}
