package ipvs

import (
	"sync"
	"time"
)

// The kernel arms one timer per connection on its timer wheel
// (kernel/time/timer.c). Two properties of the wheel are visible in IPVS's
// behaviour and are modelled here, with each bucket's timers in an array
// in arming order:
//
//   - A timer fires at the end of its bucket, not at its deadline: the
//     deadline is rounded up to the granularity of the wheel level chosen
//     from the delay (4 ms up to 252 ms, 32 ms up to 2 s, 256 ms up to 16 s,
//     2 s up to 129 s, 16 s up to 17 min, ... at HZ=250: calc_wheel_index).
//   - Timers of one bucket fire newest-armed first (enqueue_timer adds at
//     the head), higher levels before lower ones (__run_timers). So a
//     connection and the template armed just before it, expiring in the
//     same bucket, fire connection first: the template then controls
//     nothing and is freed too, instead of being re-armed for 60 s.
//
// Listings show the time left to the deadline itself (timer.expires), as
// the kernel's do.

// hz is CONFIG_HZ of the reference kernel.
const hz = 250

// jiffiesAtZero places Time 0 on the kernel's jiffies: INITIAL_JIFFIES
// (-300 s, as 32 bits on a 64-bit kernel) plus a typical uptime when a
// scenario starts. The phase of bucket boundaries is otherwise unknown.
const jiffiesAtZero = uint64(1<<32-300*hz) + 4*hz

const (
	lvlClkShift = 3
	lvlBits     = 6
	lvlDepth    = 9
)

// lvlStart is LVL_START(n): the smallest delay that goes to level n.
func lvlStart(n int) uint64 { return (1<<lvlBits - 1) << ((n - 1) * lvlClkShift) }

func toJiffies(t Time) uint64 { return jiffiesAtZero + uint64(t/Time(Jiffy)) }

func fromJiffies(j uint64) Time { return Time(j-jiffiesAtZero) * Time(Jiffy) }

// bucketExpiry mirrors calc_wheel_index: the jiffy at which a timer armed
// at clk for expires fires, and the level it sits on.
func bucketExpiry(clk, expires uint64) (uint64, int) {
	delta := expires - clk
	if int64(delta) < 0 {
		return clk, 0
	}
	lvl := 0
	for lvl < lvlDepth-1 && delta >= lvlStart(lvl+1) {
		lvl++
	}
	shift := uint(lvl * lvlClkShift)
	return ((expires >> shift) + 1) << shift, lvl
}

// A bucket holds the timers that fire at jiffy fireJ on wheel level lvl,
// in the order they were armed: they fire newest first, as enqueue_timer
// adds at the head of the slot's list. An entry leaving the bucket leaves
// a hole (nil) at its position, so that no entry is touched but the one
// moved, and firing reads the entries' addresses from one array (their
// cache misses overlap, where a list's come one after the other). fireJ,
// lvl and w never change, so a timer's bucket can be compared without a
// lock; an emptied bucket stays queued until it is due.
type bucket struct {
	fireJ uint64
	lvl   int
	cs    []*Conn // armed oldest first; nil where an entry left
	n     int     // entries in cs
	idx   int     // position in w.due; -1 once popped
	w     *wheel  // the wheel it belongs to
	// firing is set when the bucket is popped to fire: its entries stay
	// pending for timerDel until processed, and entries of two firing
	// buckets fire from two wheels (Director.Advance).
	firing bool
}

func bucketKey(fireJ uint64, lvl int) uint64 { return fireJ<<4 | uint64(lvl) }

// wheelCount is how many wheels the table's timers are spread over.
const wheelCount = lockStripes

// wheel is a set of armed timers: one array per (firing jiffy, level)
// bucket, and the buckets in firing order. Arming, moving and deleting a
// timer are O(1); only a new bucket costs O(log buckets), and there are
// few buckets (a kernel wheel has 64 slots per level).
//
// As the kernel's timer bases are per CPU, the table has a wheel per
// stripe (cpuStripe): a packet arms its entries' timers on the wheel of
// the processor it runs on, so cores do not pass a wheel's lock and its
// current buckets to and fro. The kernel's firing order matters only
// between an entry and its controller, when both fire in the same bucket
// (a template freed with its last connection, or re-armed for 60 s): see
// timerSet and Director.Advance for how that order is kept across wheels.
type wheel struct {
	mu      sync.Mutex
	id      int // index in timers.wheels: the order two wheels are locked in
	buckets map[uint64]*bucket
	due     []*bucket // heap: earliest fireJ first, then higher level
	// recent is the bucket last used on each level: timers armed about
	// the same time share it, which saves the map lookup.
	recent [lvlDepth]*bucket
	// spare holds emptied arrays of popped buckets, for new buckets.
	spare [][]*Conn
	_     [cacheLine]byte
}

// timers are the table's wheels.
type timers struct {
	wheels [wheelCount]wheel
}

func (t *timers) init() {
	for i := range t.wheels {
		t.wheels[i].id = i
	}
}

// Timer fields of a Conn: expJ, the deadline in jiffies (0 once stopped;
// atomic); tb, its bucket (nil when stopped, a firing bucket in a batch;
// written under its wheel's lock, read atomically for the shortcuts);
// tidx, its position in the bucket's array (under the wheel's lock).

// timerSet (re)starts c's timer at now+d: mod_timer. st is the caller's
// stripe: a timer that changes bucket moves to that stripe's wheel, or to
// the wheel of its controller's timer when that sits in the very bucket
// c goes to. So an entry armed into its controller's bucket after the
// controller is after it in one array, as ahead of it in the kernel's list;
// an entry of that bucket on another wheel was armed before its
// controller moved there, and Advance fires it after the controller.
func (t *table) timerSet(c *Conn, now Time, d time.Duration, st uint) {
	clk := toJiffies(now)
	expJ := clk + uint64(d/Jiffy)
	b := c.tb.Load()
	pending := b != nil && !b.firing
	// __mod_timer: a pending timer re-armed for the same jiffy is left
	// alone, in its bucket.
	if pending && c.expJ.Load() == expJ {
		return
	}
	fireJ, lvl := bucketExpiry(clk, expJ)
	if pending && b.fireJ == fireJ && b.lvl == lvl {
		// Same bucket (same level and slot): only the expiry changes and
		// the timer keeps its place in the bucket.
		c.expJ.Store(expJ)
		return
	}
	for {
		w := &t.wheels[st%wheelCount]
		if ct := c.control; ct != nil {
			if cb := ct.tb.Load(); cb != nil && !cb.firing && cb.fireJ == fireJ && cb.lvl == lvl {
				w = cb.w
			}
		}
		// The old bucket's wheel too, locked in address order.
		var ow *wheel
		if b = c.tb.Load(); b != nil && !b.firing && b.w != w {
			ow = b.w
		}
		lockPair(w, ow)
		if c.tb.Load() != b {
			unlockPair(w, ow) // moved meanwhile by another packet
			continue
		}
		if b != nil && !b.firing {
			// Holding b's wheel, nobody else can move c.
			if b.fireJ == fireJ && b.lvl == lvl {
				c.expJ.Store(expJ)
				unlockPair(w, ow)
				return
			}
			dequeue(c, b)
			nb := w.bucketFor(fireJ, lvl)
			enqueue(c, nb)
			c.tb.Store(nb)
		} else {
			// A stopped (or firing) timer is in no bucket, so no wheel
			// lock keeps two packets from arming it on two wheels at
			// once: the first to set its bucket wins, the other retries.
			nb := w.bucketFor(fireJ, lvl)
			if !c.tb.CompareAndSwap(b, nb) {
				unlockPair(w, ow)
				continue
			}
			enqueue(c, nb)
		}
		c.expJ.Store(expJ)
		unlockPair(w, ow)
		return
	}
}

func lockPair(a, b *wheel) {
	if b == nil {
		a.mu.Lock()
		return
	}
	if b.id < a.id {
		a, b = b, a
	}
	a.mu.Lock()
	b.mu.Lock()
}

func unlockPair(a, b *wheel) {
	a.mu.Unlock()
	if b != nil {
		b.mu.Unlock()
	}
}

func (w *wheel) bucketFor(fireJ uint64, lvl int) *bucket {
	if b := w.recent[lvl]; b != nil && b.fireJ == fireJ && b.idx >= 0 {
		return b
	}
	k := bucketKey(fireJ, lvl)
	if b := w.buckets[k]; b != nil {
		w.recent[lvl] = b
		return b
	}
	if w.buckets == nil {
		w.buckets = make(map[uint64]*bucket)
	}
	b := &bucket{fireJ: fireJ, lvl: lvl, idx: len(w.due), w: w}
	if n := len(w.spare); n > 0 {
		b.cs = w.spare[n-1]
		w.spare[n-1] = nil
		w.spare = w.spare[:n-1]
	}
	w.buckets[k] = b
	w.due = append(w.due, b)
	w.up(b.idx)
	w.recent[lvl] = b
	return b
}

// enqueue adds c to b as its newest entry; the caller sets c.tb.
func enqueue(c *Conn, b *bucket) {
	c.tidx = int32(len(b.cs))
	b.cs = append(b.cs, c)
	b.n++
}

// dequeue takes c out of b. A bucket whose holes outnumber its entries
// is compacted (its entries keep their order).
func dequeue(c *Conn, b *bucket) {
	b.cs[c.tidx] = nil
	b.n--
	switch {
	case b.n == 0:
		clear(b.cs)
		b.cs = b.cs[:0]
	case len(b.cs) > 2*b.n+16:
		k := 0
		for _, x := range b.cs {
			if x != nil {
				x.tidx = int32(k)
				b.cs[k] = x
				k++
			}
		}
		clear(b.cs[k:])
		b.cs = b.cs[:k]
	}
}

// timerDel stops c's timer and reports whether it was pending (del_timer).
// An entry of the batch being fired counts as pending and will not fire.
func (t *table) timerDel(c *Conn) bool {
	for {
		b := c.tb.Load()
		if b == nil {
			return false
		}
		w := b.w
		w.mu.Lock()
		if c.tb.Load() != b {
			w.mu.Unlock()
			continue
		}
		if !b.firing {
			dequeue(c, b)
		}
		c.tb.Store(nil)
		c.expJ.Store(0)
		w.mu.Unlock()
		return true
	}
}

// timerPending reports whether c's timer is queued (not stopped, not in
// the batch being fired).
func (t *table) timerPending(c *Conn) bool {
	b := c.tb.Load()
	return b != nil && !b.firing
}

// firing reports whether c, an entry of the batch being fired, is still
// to fire: it was neither deleted nor re-armed meanwhile. Firing either
// re-arms it (timerSet replaces the firing bucket) or frees it; a freed
// entry keeps its firing bucket, which nothing asks about any more (it
// controls nothing, or it would not be freed) until it is reused.
func (t *table) firing(c *Conn) bool {
	b := c.tb.Load()
	return b != nil && b.firing
}

// firesAfterControl reports whether c, an entry of the batch being fired,
// must wait for its controller: the controller is in the batch too, on
// another wheel. c was then armed into the bucket before its controller
// (timerSet), and the kernel fires the newer first.
func (t *table) firesAfterControl(c *Conn) bool {
	ct := c.control
	if ct == nil {
		return false
	}
	cb, b := ct.tb.Load(), c.tb.Load()
	return cb != nil && cb.firing && b != nil && b.firing && cb != b
}

func (w *wheel) less(i, j int) bool {
	a, b := w.due[i], w.due[j]
	if a.fireJ != b.fireJ {
		return a.fireJ < b.fireJ
	}
	return a.lvl > b.lvl
}

func (w *wheel) swap(i, j int) {
	w.due[i], w.due[j] = w.due[j], w.due[i]
	w.due[i].idx = i
	w.due[j].idx = j
}

func (w *wheel) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !w.less(i, p) {
			break
		}
		w.swap(i, p)
		i = p
	}
}

func (w *wheel) down(i int) {
	n := len(w.due)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && w.less(r, l) {
			m = r
		}
		if !w.less(m, i) {
			return
		}
		w.swap(i, m)
		i = m
	}
}

func (w *wheel) popBucket() *bucket {
	b := w.due[0]
	n := len(w.due) - 1
	w.swap(0, n)
	w.due[n] = nil
	w.due = w.due[:n]
	w.down(0)
	delete(w.buckets, bucketKey(b.fireJ, b.lvl))
	b.idx = -1 // popped: recent must not hand it out again
	return b
}

// maxSpare bounds the arrays a wheel keeps for new buckets.
const maxSpare = 16

// release keeps a popped bucket's array for a new bucket. The bucket
// itself stays its entries' bucket until they fire (firing).
func (w *wheel) release(b *bucket) {
	cs := b.cs
	b.cs, b.n = nil, 0
	if cap(cs) > 0 && len(w.spare) < maxSpare {
		clear(cs)
		w.spare = append(w.spare, cs[:0])
	}
}

// popDue removes every timer of the earliest bucket due at or before now
// (earliest firing jiffy, then highest level: __run_timers runs higher
// levels first) from every wheel, and returns them with that time, each
// wheel's newest armed first (expire_timers). The entries are marked as a
// firing batch: until processed they stay pending for timerDel. Only
// Advance calls it, holding the director exclusively: no timer changes
// meanwhile, so it needs no wheel lock.
func (t *table) popDue(now Time, batch []*Conn) ([]*Conn, Time) {
	batch = batch[:0]
	clk := toJiffies(now)
	for {
		var at uint64
		lvl := -1
		for i := range t.wheels {
			w := &t.wheels[i]
			for len(w.due) > 0 && w.due[0].n == 0 && w.due[0].fireJ <= clk {
				w.release(w.popBucket()) // emptied by deletions and moves
			}
			if len(w.due) == 0 {
				continue
			}
			if b := w.due[0]; b.fireJ <= clk && (lvl < 0 || b.fireJ < at || b.fireJ == at && b.lvl > lvl) {
				at, lvl = b.fireJ, b.lvl
			}
		}
		if lvl < 0 {
			return batch, 0
		}
		for i := range t.wheels {
			w := &t.wheels[i]
			if len(w.due) == 0 || w.due[0].fireJ != at || w.due[0].lvl != lvl {
				continue
			}
			// The entries keep b as their bucket, now firing, and their
			// positions (an entry re-armed meanwhile gets new ones), so
			// that popping reads the array and writes to no entry.
			b := w.popBucket()
			b.firing = true
			for k := len(b.cs) - 1; k >= 0; k-- {
				if c := b.cs[k]; c != nil {
					batch = append(batch, c)
				}
			}
			w.release(b)
		}
		if len(batch) > 0 {
			return batch, fromJiffies(at)
		}
	}
}

// WheelFireTime returns when a timer armed at now for d fires on the
// kernel's timer wheel as golvs models it: d rounded up past the end of the
// bucket of its wheel level (see the package's timer model). Tests use it
// to know when an entry disappears; listings count down to now+d.
func WheelFireTime(now Time, d time.Duration) Time {
	clk := toJiffies(now)
	j, _ := bucketExpiry(clk, clk+uint64(d/Jiffy))
	return fromJiffies(j)
}
