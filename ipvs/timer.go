package ipvs

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// The kernel arms one timer per connection on its timer wheel
// (kernel/time/timer.c). Two properties of the wheel are visible in IPVS's
// behaviour and are modelled here, with one heap of deadlines:
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

// wheel is the set of armed timers.
type wheel struct {
	tmu    sync.Mutex
	heap   []heapEnt
	armSeq atomic.Uint64
}

// heapEnt keeps the key beside the pointer so that sifting compares
// without loading the entries.
type heapEnt struct {
	key int64
	c   *Conn
}

// Timer fields of a Conn (guarded as noted):
//
//	expires  deadline (Time), atomic, 0 when stopped
//	fireAt   when the wheel fires it (Time), atomic
//	level    wheel level, for the firing order
//	armSeq   arming order: newer fires first within a bucket
//	heapKey  the heap's key, at or before fireAt (lazy), atomic
//	heapIdx  position in the heap; -1 stopped; -2 firing batch

// timerSet (re)starts c's timer at now+d: mod_timer.
func (t *table) timerSet(c *Conn, now Time, d time.Duration) {
	exp := now.Add(d)
	clk := toJiffies(now)
	expJ := clk + uint64(d/Jiffy)
	idx := c.heapIdx.Load()
	// __mod_timer: a pending timer re-armed for the same jiffy is left
	// alone, in its bucket.
	if idx >= 0 && c.expiresJ.Load() == expJ {
		return
	}
	fireJ, lvl := bucketExpiry(clk, expJ)
	fire := fromJiffies(fireJ)
	c.expiresJ.Store(expJ)
	if idx >= 0 && Time(c.fireAt.Load()) == fire && c.level.Load() == int32(lvl) {
		// Same bucket (same level and slot): only the expiry changes and
		// the timer keeps its place in the bucket.
		c.expires.Store(int64(exp))
		return
	}
	c.expires.Store(int64(exp))
	c.fireAt.Store(int64(fire))
	c.level.Store(int32(lvl))
	c.armSeq.Store(t.wheel.armSeq.Add(1))
	if idx >= 0 && int64(fire) >= c.heapKey.Load() {
		return // the heap entry is early; popDue re-queues it
	}
	t.tmu.Lock()
	switch i := c.heapIdx.Load(); {
	case i < 0:
		t.push(c, fire)
	case int64(fire) < c.heapKey.Load():
		c.heapKey.Store(int64(fire))
		t.heap[i].key = int64(fire)
		t.up(int(i))
	}
	t.tmu.Unlock()
}

func (t *table) push(c *Conn, at Time) {
	c.heapKey.Store(int64(at))
	c.heapIdx.Store(int32(len(t.heap)))
	t.heap = append(t.heap, heapEnt{int64(at), c})
	t.up(len(t.heap) - 1)
}

// timerDel stops c's timer and reports whether it was pending (del_timer).
// An entry of the batch being fired counts as pending and will not fire.
func (t *table) timerDel(c *Conn) bool {
	t.tmu.Lock()
	defer t.tmu.Unlock()
	i := c.heapIdx.Load()
	switch {
	case i == -2:
		c.heapIdx.Store(-1)
	case i < 0:
		return false
	default:
		t.removeAt(int(i))
	}
	c.expires.Store(0)
	return true
}

func (t *table) less(i, j int) bool {
	a, b := &t.heap[i], &t.heap[j]
	if a.key != b.key {
		return a.key < b.key
	}
	return a.c.seq < b.c.seq
}

func (t *table) swap(i, j int) {
	t.heap[i], t.heap[j] = t.heap[j], t.heap[i]
	t.heap[i].c.heapIdx.Store(int32(i))
	t.heap[j].c.heapIdx.Store(int32(j))
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
	c := t.heap[i].c
	if i != n {
		t.swap(i, n)
	}
	t.heap[n] = heapEnt{}
	t.heap = t.heap[:n]
	if i != n {
		t.down(i)
		t.up(i)
	}
	c.heapIdx.Store(-1)
}

// popDue removes every timer that fires at the earliest firing time at or
// before now and returns them in the kernel's firing order (higher level
// first, newest armed first), with that time. The entries are marked as
// a firing batch: until processed they stay pending for timerDel.
func (t *table) popDue(now Time, batch []*Conn) ([]*Conn, Time) {
	t.tmu.Lock()
	defer t.tmu.Unlock()
	batch = batch[:0]
	var at Time
	for len(t.heap) > 0 {
		c := t.heap[0].c
		key := Time(t.heap[0].key)
		if key > now || (len(batch) > 0 && key > at) {
			break
		}
		if fire := c.fireAt.Load(); fire > int64(key) {
			c.heapKey.Store(fire)
			t.heap[0].key = fire
			t.down(0)
			continue
		}
		t.removeAt(0)
		c.heapIdx.Store(-2)
		at = key
		batch = append(batch, c)
	}
	sort.Slice(batch, func(i, j int) bool {
		a, b := batch[i], batch[j]
		if la, lb := a.level.Load(), b.level.Load(); la != lb {
			return la > lb
		}
		return a.armSeq.Load() > b.armSeq.Load()
	})
	return batch, at
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
