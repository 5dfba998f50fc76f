package check

import "time"

// Clock is the time source of the check loops: when a check runs next and
// the timestamps of states and transitions. Tests pass a fake clock whose
// After fires only when the test advances it; probes themselves use real
// deadlines (context.WithTimeout), since sockets and processes run on real
// time.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// RealClock returns the clock of package time.
func RealClock() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
