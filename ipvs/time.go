package ipvs

import "time"

// Time is a point on the caller's monotonic clock, in nanoseconds. The core
// never reads a clock itself; callers pass the current Time.
type Time int64

// Add returns t+d.
func (t Time) Add(d time.Duration) Time { return t + Time(d) }

// Sub returns t-u as a duration.
func (t Time) Sub(u Time) time.Duration { return time.Duration(t - u) }

// Jiffy is the kernel's tick on the reference kernel (CONFIG_HZ=250, hz in
// timer.go). Timeouts are kept in full precision; Jiffy is used where the kernel's arithmetic
// depends on HZ (persistence timeouts are stored as seconds*HZ).
const Jiffy = time.Second / hz
