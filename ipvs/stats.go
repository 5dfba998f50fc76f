package ipvs

import "sync/atomic"

// Stats are the counters of a service, a dest or the whole director, with
// the kernel's rate estimator (ip_vs_est.c). Live counters are atomics; the
// visible values are folded from them by [Director.Advance] every 2 s, as
// the kernel's estimation timer does.
type Stats struct {
	// live: conns, inpkts, outpkts, inbytes, outbytes, in stripes so that
	// packets on different cores do not share a cache line (the kernel's
	// counters are per CPU); a packet writes the stripe of its processor
	// (cpuStripe).
	live [lockStripes]struct {
		v [5]atomic.Uint64
		_ [cacheLine - 40]byte
	}

	// Below: owned by the estimator (director lock).
	folded [5]uint64
	zero   [5]uint64
	last   [5]uint64
	avg    [5]int64
}

const (
	stConns = iota
	stInPkts
	stOutPkts
	stInBytes
	stOutBytes
)

// StatsInfo is a snapshot of counters and rates.
type StatsInfo struct {
	Conns, InPkts, OutPkts, InBytes, OutBytes uint64
	CPS, InPPS, OutPPS, InBPS, OutBPS         uint64
}

func (s *Stats) countConn(st uint) { s.live[st%lockStripes].v[stConns].Add(1) }

func (s *Stats) countIn(st uint, n int) {
	l := &s.live[st%lockStripes]
	l.v[stInPkts].Add(1)
	l.v[stInBytes].Add(uint64(n))
}

func (s *Stats) countOut(st uint, n int) {
	l := &s.live[st%lockStripes]
	l.v[stOutPkts].Add(1)
	l.v[stOutBytes].Add(uint64(n))
}

func (s *Stats) load(i int) uint64 {
	var v uint64
	for st := range s.live {
		v += s.live[st].v[i].Load()
	}
	return v
}

// fold is one tick of ip_vs_est.c: estimation_timer for this block of
// counters: copy the live counters to the visible ones and update the
// averages.
func (s *Stats) fold() {
	var v [5]uint64
	for i := range v {
		v[i] = s.load(i)
	}
	s.foldValues(v)
}

// foldValues is fold with the counters' values given.
func (s *Stats) foldValues(v [5]uint64) {
	for i := range s.folded {
		s.folded[i] = v[i]
		delta := int64(s.folded[i] - s.last[i])
		s.last[i] = s.folded[i]
		var sample int64
		if i <= stOutPkts {
			sample = delta << 9
		} else {
			sample = delta << 4
		}
		s.avg[i] += (sample - s.avg[i]) >> 2
	}
}

// zeroStats mirrors ip_vs_ctl.c: ip_vs_zero_stats (folded counters become the
// zero point, averages reset).
func (s *Stats) zeroStats() {
	for i := range s.folded {
		s.zero[i] = s.folded[i]
		s.last[i] = s.folded[i]
		s.avg[i] = 0
	}
}

func (s *Stats) info() StatsInfo {
	v := func(i int) uint64 { return s.folded[i] - s.zero[i] }
	rate := func(i int) uint64 {
		a := s.avg[i]
		if i <= stOutPkts {
			return uint64((a + 0x1FF) >> 10)
		}
		return uint64((a + 0xF) >> 5)
	}
	return StatsInfo{
		Conns: v(stConns), InPkts: v(stInPkts), OutPkts: v(stOutPkts), InBytes: v(stInBytes), OutBytes: v(stOutBytes),
		CPS: rate(stConns), InPPS: rate(stInPkts), OutPPS: rate(stOutPkts), InBPS: rate(stInBytes), OutBPS: rate(stOutBytes),
	}
}
