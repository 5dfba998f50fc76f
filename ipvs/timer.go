package ipvs

import (
	"sync"
	"time"
)

// The kernel arms one timer per connection on its timer wheel
// (kernel/time/timer.c). Two properties of the wheel are visible in IPVS's
// behaviour and are modelled here, with the wheel's buckets as lists:
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
// newest armed first (enqueue_timer adds at the head of the slot's list).
// fireJ and lvl never change, so a timer's bucket can be compared without
// the wheel's lock; an emptied bucket stays queued until it is due.
type bucket struct {
	fireJ uint64
	lvl   int
	head  *Conn
	idx   int // position in wheel.due; -1 once popped
}

func bucketKey(fireJ uint64, lvl int) uint64 { return fireJ<<4 | uint64(lvl) }

// wheel is the set of armed timers: one list per (firing jiffy, level)
// bucket, and the buckets in firing order. Arming, moving and deleting a
// timer are O(1); only a new bucket costs O(log buckets), and there are
// few buckets (a wheel has 64 slots per level).
type wheel struct {
	tmu     sync.Mutex
	buckets map[uint64]*bucket
	due     []*bucket // heap: earliest fireJ first, then higher level
	// firing marks the entries of the batch being fired: until processed
	// they count as pending for timerDel.
	firing bucket
	// recent is the bucket last used on each level: timers armed about
	// the same time share it, which saves the map lookup.
	recent [lvlDepth]*bucket
}

// Timer fields of a Conn: expJ, the deadline in jiffies (0 once stopped;
// atomic); tb, its bucket (nil when stopped, &firing in a batch; written
// under tmu, read atomically for the shortcuts); tnext and tprev, its
// neighbours in the bucket (under tmu).

// timerSet (re)starts c's timer at now+d: mod_timer.
func (t *table) timerSet(c *Conn, now Time, d time.Duration) {
	clk := toJiffies(now)
	expJ := clk + uint64(d/Jiffy)
	b := c.tb.Load()
	pending := b != nil && b != &t.firing
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
	t.tmu.Lock()
	if b = c.tb.Load(); b != nil && b != &t.firing {
		if b.fireJ == fireJ && b.lvl == lvl {
			c.expJ.Store(expJ)
			t.tmu.Unlock()
			return
		}
		t.unlink(c, b)
	}
	t.link(c, t.bucketFor(fireJ, lvl))
	c.expJ.Store(expJ)
	t.tmu.Unlock()
}

func (t *table) bucketFor(fireJ uint64, lvl int) *bucket {
	if b := t.recent[lvl]; b != nil && b.fireJ == fireJ && b.idx >= 0 {
		return b
	}
	k := bucketKey(fireJ, lvl)
	if b := t.buckets[k]; b != nil {
		t.recent[lvl] = b
		return b
	}
	if t.buckets == nil {
		t.buckets = make(map[uint64]*bucket)
	}
	b := &bucket{fireJ: fireJ, lvl: lvl, idx: len(t.due)}
	t.buckets[k] = b
	t.due = append(t.due, b)
	t.up(b.idx)
	t.recent[lvl] = b
	return b
}

func (t *table) link(c *Conn, b *bucket) {
	c.tprev = nil
	c.tnext = b.head
	if b.head != nil {
		b.head.tprev = c
	}
	b.head = c
	c.tb.Store(b)
}

func (t *table) unlink(c *Conn, b *bucket) {
	if c.tprev != nil {
		c.tprev.tnext = c.tnext
	} else {
		b.head = c.tnext
	}
	if c.tnext != nil {
		c.tnext.tprev = c.tprev
	}
	c.tnext, c.tprev = nil, nil
}

// timerDel stops c's timer and reports whether it was pending (del_timer).
// An entry of the batch being fired counts as pending and will not fire.
func (t *table) timerDel(c *Conn) bool {
	t.tmu.Lock()
	defer t.tmu.Unlock()
	b := c.tb.Load()
	if b == nil {
		return false
	}
	if b != &t.firing {
		t.unlink(c, b)
	}
	c.tb.Store(nil)
	c.expJ.Store(0)
	return true
}

// timerPending reports whether c's timer is queued (not stopped, not in
// the batch being fired).
func (t *table) timerPending(c *Conn) bool {
	b := c.tb.Load()
	return b != nil && b != &t.firing
}

// takeFiring reports whether c, an entry of the batch being fired, is still
// to fire (it was neither deleted nor re-armed meanwhile), and marks its
// timer stopped. Only Advance calls it, holding the director exclusively:
// no timer changes meanwhile, so it needs no wheel lock.
func (t *table) takeFiring(c *Conn) bool {
	if c.tb.Load() != &t.firing {
		return false
	}
	c.tb.Store(nil)
	return true
}

func (t *table) less(i, j int) bool {
	a, b := t.due[i], t.due[j]
	if a.fireJ != b.fireJ {
		return a.fireJ < b.fireJ
	}
	return a.lvl > b.lvl
}

func (t *table) swap(i, j int) {
	t.due[i], t.due[j] = t.due[j], t.due[i]
	t.due[i].idx = i
	t.due[j].idx = j
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
	n := len(t.due)
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

func (t *table) popBucket() *bucket {
	b := t.due[0]
	n := len(t.due) - 1
	t.swap(0, n)
	t.due[n] = nil
	t.due = t.due[:n]
	t.down(0)
	delete(t.buckets, bucketKey(b.fireJ, b.lvl))
	b.idx = -1 // popped: recent must not hand it out again
	return b
}

// popDue removes every timer that fires at the earliest firing jiffy at or
// before now and returns them in the kernel's firing order (__run_timers:
// higher level first; expire_timers: newest armed first), with that time.
// The entries are marked as a firing batch: until processed they stay
// pending for timerDel.
func (t *table) popDue(now Time, batch []*Conn) ([]*Conn, Time) {
	t.tmu.Lock()
	defer t.tmu.Unlock()
	batch = batch[:0]
	clk := toJiffies(now)
	var at uint64
	for len(t.due) > 0 {
		b := t.due[0]
		if b.fireJ > clk || (len(batch) > 0 && b.fireJ != at) {
			break
		}
		t.popBucket()
		for c := b.head; c != nil; {
			next := c.tnext
			c.tnext, c.tprev = nil, nil
			c.tb.Store(&t.firing)
			batch = append(batch, c)
			c = next
		}
		b.head = nil
		if len(batch) > 0 {
			at = b.fireJ
		}
	}
	return batch, fromJiffies(at)
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
