package ipvs_test

// Tests of the statistics and the kernel's rate estimator (ip_vs_est.c:
// estimation_timer; ip_vs_ctl.c: ip_vs_zero_stats), driven through the
// Director: packets go through Process, time through Advance, values come
// out of Services and TotalStats. Expected values are computed by hand from
// the kernel's formula (spec section 5):
//
//	sample = delta << 9 (conns, packets)   or delta << 4 (bytes)
//	avg   += (sample - avg) >> 2           (arithmetic shift: floor)
//	rate   = (avg + 0x1FF) >> 10           or (avg + 0xF) >> 5
//
// The helpers here carry an "est" prefix so that they cannot collide with
// the shared test harness.

import (
	"net/netip"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
)

var (
	estVIP    = netip.MustParseAddrPort("10.0.0.1:80")
	estVIP2   = netip.MustParseAddrPort("10.0.0.2:53")
	estRS1    = netip.MustParseAddrPort("10.8.0.1:80")
	estRS2    = netip.MustParseAddrPort("10.8.0.2:80")
	estRS3    = netip.MustParseAddrPort("10.8.0.3:53")
	estClient = netip.MustParseAddrPort("192.0.2.7:40000")
)

func estSec(s float64) ipvs.Time { return ipvs.Time(s * float64(time.Second)) }

// estDirector is a director with one NAT TCP service on estVIP (rr, one
// real server estRS1) and its clock at 0; mod changes the settings.
func estDirector(t *testing.T, mod func(*ipvs.Settings), opts ...func(*ipvs.ServiceConfig)) (*ipvs.Director, ipvs.ServiceKey) {
	t.Helper()
	s := ipvs.DefaultSettings()
	if mod != nil {
		mod(&s)
	}
	d := ipvs.NewDirector(&ipvs.Config{Settings: &s, Schedulers: sched.New})
	d.Advance(0) // first estimator tick at 2 s, as 2 s after module load
	k := ipvs.ServiceKey{Protocol: ipvs.ProtoTCP, Addr: estVIP.Addr(), Port: estVIP.Port()}
	cfg := ipvs.ServiceConfig{ServiceKey: k, Scheduler: "rr"}
	for _, o := range opts {
		o(&cfg)
	}
	if err := d.AddService(cfg); err != nil {
		t.Fatal(err)
	}
	estAddDest(t, d, k, estRS1)
	return d, k
}

func estAddDest(t *testing.T, d *ipvs.Director, k ipvs.ServiceKey, rs netip.AddrPort) {
	t.Helper()
	if err := d.AddDest(k, ipvs.DestConfig{Addr: rs.Addr(), Port: rs.Port(), Weight: 1, Method: ipvs.FwdMasq}); err != nil {
		t.Fatal(err)
	}
}

// estIn sends one client packet of n bytes; syn makes it a connection start.
func estIn(t *testing.T, d *ipvs.Director, now ipvs.Time, client, vip netip.AddrPort, syn bool, n int) ipvs.Result {
	t.Helper()
	flags := ipvs.TCPAck
	if syn {
		flags = ipvs.TCPSyn
	}
	r := d.Process(&ipvs.Packet{Protocol: ipvs.ProtoTCP, Src: client.Addr(), SrcPort: client.Port(),
		Dst: vip.Addr(), DstPort: vip.Port(), TCPFlags: flags, Len: n}, now)
	if r.Verdict != ipvs.VerdictForward {
		t.Fatalf("in packet %v -> %v: %v (%v)", client, vip, r.Verdict, r.Reason)
	}
	return r
}

// estOut sends one NAT reply of n bytes from rs to client.
func estOut(t *testing.T, d *ipvs.Director, now ipvs.Time, rs, client netip.AddrPort, flags uint8, n int) {
	t.Helper()
	r := d.Process(&ipvs.Packet{Protocol: ipvs.ProtoTCP, Dir: ipvs.DirOut, Src: rs.Addr(), SrcPort: rs.Port(),
		Dst: client.Addr(), DstPort: client.Port(), TCPFlags: flags, Len: n}, now)
	if r.Verdict != ipvs.VerdictForward {
		t.Fatalf("out packet %v -> %v: %v (%v)", rs, client, r.Verdict, r.Reason)
	}
}

func estService(t *testing.T, d *ipvs.Director, k ipvs.ServiceKey) ipvs.ServiceInfo {
	t.Helper()
	si, err := d.Service(k)
	if err != nil {
		t.Fatal(err)
	}
	return si
}

func estCheck(t *testing.T, what string, got, want ipvs.StatsInfo) {
	t.Helper()
	if got != want {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// estTraffic is the spec's worked example in one 2 s window: one
// connection, 32 client packets of 60 bytes (1920 bytes) and one 88-byte
// reply.
func estTraffic(t *testing.T, d *ipvs.Director, at ipvs.Time, client netip.AddrPort) {
	t.Helper()
	estIn(t, d, at, client, estVIP, true, 60)
	estOut(t, d, at, estRS1, client, ipvs.TCPSyn|ipvs.TCPAck, 88)
	for range 31 {
		estIn(t, d, at, client, estVIP, false, 60)
	}
}

// TestEstimatorWorkedExample checks the spec's example: 32 packets and
// 1920 bytes in one tick give InPPS 4, InBPS 240; 88 out-bytes give
// OutBPS 11; one connection gives CPS 0. The counters are visible only
// after the tick.
func TestEstimatorWorkedExample(t *testing.T) {
	d, k := estDirector(t, nil)
	estTraffic(t, d, estSec(0.5), estClient)

	// Before the first tick nothing is folded: listings show zeros.
	d.Advance(estSec(1.999))
	estCheck(t, "service before the tick", estService(t, d, k).Stats, ipvs.StatsInfo{})
	estCheck(t, "totals before the tick", d.TotalStats(), ipvs.StatsInfo{})

	d.Advance(estSec(2))
	want := ipvs.StatsInfo{
		Conns: 1, InPkts: 32, OutPkts: 1, InBytes: 1920, OutBytes: 88,
		// conns: 1<<9 = 512, avg 512>>2 = 128, (128+511)>>10 = 0
		CPS: 0,
		// inpkts: 32<<9 = 16384, avg 4096, (4096+511)>>10 = 4
		InPPS: 4,
		// outpkts: 1<<9 = 512, avg 128, 0
		OutPPS: 0,
		// inbytes: 1920<<4 = 30720, avg 7680, (7680+15)>>5 = 240
		InBPS: 240,
		// outbytes: 88<<4 = 1408, avg 352, (352+15)>>5 = 11
		OutBPS: 11,
	}
	si := estService(t, d, k)
	estCheck(t, "service", si.Stats, want)
	if len(si.Dests) != 1 {
		t.Fatalf("dests: %+v", si.Dests)
	}
	estCheck(t, "real server", si.Dests[0].Stats, want)
	estCheck(t, "totals", d.TotalStats(), want)
}

// TestEstimatorDecay follows the averages of the worked example over idle
// ticks, values by hand. The fourth tick exercises the floor of the
// arithmetic shift on a negative difference: (0-198)>>2 = -50, not -49.
func TestEstimatorDecay(t *testing.T) {
	d, k := estDirector(t, nil)
	estTraffic(t, d, estSec(0.5), estClient)
	steps := []struct {
		at                   float64
		inPPS, inBPS, outBPS uint64
		avgNote              string
	}{
		{2, 4, 240, 11, "in 4096/7680, out bytes 352"},
		{4, 3, 180, 8, "in 3072/5760, out bytes 264"},
		{6, 2, 135, 6, "in 2304/4320, out bytes 198"},
		{8, 2, 101, 5, "in 1728/3240, out bytes 148"},
		{10, 1, 76, 3, "in 1296/2430, out bytes 111"},
		{12, 1, 57, 3, "in 972/1822, out bytes 83"},
	}
	for _, st := range steps {
		d.Advance(estSec(st.at))
		got := estService(t, d, k).Stats
		want := ipvs.StatsInfo{Conns: 1, InPkts: 32, OutPkts: 1, InBytes: 1920, OutBytes: 88,
			InPPS: st.inPPS, InBPS: st.inBPS, OutBPS: st.outBPS}
		estCheck(t, "t="+time.Duration(estSec(st.at)).String()+" ("+st.avgNote+")", got, want)
	}
	// Long idle: every rate decays to 0 and stays there; the counters stay.
	d.Advance(estSec(200))
	estCheck(t, "after long idle", estService(t, d, k).Stats,
		ipvs.StatsInfo{Conns: 1, InPkts: 32, OutPkts: 1, InBytes: 1920, OutBytes: 88})
}

// estRef is an independent model of one counter's estimator.
type estRef struct {
	shift, round, scale uint
	avg                 int64
	last                uint64
}

func (e *estRef) tick(now uint64) uint64 {
	delta := int64(now - e.last)
	e.last = now
	e.avg += (delta<<e.shift - e.avg) >> 2
	return uint64((e.avg + int64(e.round)) >> e.scale)
}

// TestEstimatorSteadyRates sends a steady load over many ticks, with the
// rate changing half way, and checks every tick against the reference
// model; a steady rate converges to the true per-second value.
func TestEstimatorSteadyRates(t *testing.T) {
	d, k := estDirector(t, nil)
	conns, pkts := &estRef{shift: 9, round: 0x1FF, scale: 10}, &estRef{shift: 9, round: 0x1FF, scale: 10}
	bytes := &estRef{shift: 4, round: 0xF, scale: 5}
	var nConns, nPkts, nBytes uint64
	port := uint16(1000)
	for tick := 1; tick <= 40; tick++ {
		// 10 connections of 5 packets each per 2 s window in the first
		// half; 2 connections of 5 packets in the second.
		per := 10
		if tick > 20 {
			per = 2
		}
		at := estSec(float64(tick)*2 - 1)
		for range per {
			c := netip.AddrPortFrom(estClient.Addr(), port)
			port++
			estIn(t, d, at, c, estVIP, true, 60)
			for range 4 {
				estIn(t, d, at, c, estVIP, false, 100)
			}
			nConns++
			nPkts += 5
			nBytes += 460
		}
		d.Advance(estSec(float64(tick) * 2))
		got := estService(t, d, k).Stats
		want := ipvs.StatsInfo{Conns: nConns, InPkts: nPkts, InBytes: nBytes,
			CPS: conns.tick(nConns), InPPS: pkts.tick(nPkts), InBPS: bytes.tick(nBytes)}
		estCheck(t, "tick "+time.Duration(estSec(float64(tick)*2)).String(), got, want)
		if tick == 20 {
			// 10 connections, 50 packets, 4600 bytes per 2 s: 5 conns/s,
			// 25 packets/s, 2300 bytes/s, approached as 1-(3/4)^20.
			estNear(t, "steady", got, 5, 25, 2300)
		}
	}
	// 1 conn/s, 5 packets/s, 460 bytes/s after the change.
	estNear(t, "after the change", estService(t, d, k).Stats, 1, 5, 460)
}

// estNear checks rates against true per-second values within 1.5 %
// (the average after 20 ticks is within (3/4)^20 = 0.3 % of the sample).
func estNear(t *testing.T, what string, got ipvs.StatsInfo, cps, pps, bps uint64) {
	t.Helper()
	near := func(g, w uint64) bool { return g*1000 >= w*985 && g*1000 <= w*1015 }
	if got.CPS != cps || got.InPPS != pps || !near(got.InBPS, bps) {
		t.Errorf("%s rates: CPS %d InPPS %d InBPS %d, want %d, %d, ~%d", what, got.CPS, got.InPPS, got.InBPS, cps, pps, bps)
	}
}

// TestEstimatorTicksInOneAdvance: one Advance over several periods fires
// every tick at its own time, so the averages equal those of one Advance
// per tick.
func TestEstimatorTicksInOneAdvance(t *testing.T) {
	step, _ := estDirector(t, nil)
	jump, k := estDirector(t, nil)
	for _, d := range []*ipvs.Director{step, jump} {
		estTraffic(t, d, estSec(0.5), estClient)
	}
	for at := 2.0; at <= 10; at += 2 {
		step.Advance(estSec(at))
	}
	jump.Advance(estSec(11))
	estCheck(t, "one Advance to 11 s", estService(t, jump, k).Stats, estService(t, step, k).Stats)
	// Traffic after the jump counts in the window (10 s, 12 s].
	estTraffic(t, jump, estSec(11.5), netip.AddrPortFrom(estClient.Addr(), 40001))
	jump.Advance(estSec(12))
	// in avg: 1296 + (16384-1296)>>2 = 5068 -> 5; in bytes avg 2430 + (30720-2430)>>2 = 9502 -> 297
	got := estService(t, jump, k).Stats
	if got.Conns != 2 || got.InPkts != 64 || got.InPPS != 5 || got.InBPS != 297 {
		t.Errorf("after new traffic: %+v", got)
	}
}

// TestEstimatorZero checks -Z: the folded counters become the zero point,
// the averages restart from 0, and packets counted but not yet folded at
// the time of -Z appear after the next tick.
func TestEstimatorZero(t *testing.T) {
	d, k := estDirector(t, nil)
	estTraffic(t, d, estSec(0.5), estClient)
	d.Advance(estSec(2))
	// 8 more packets of 50 bytes, not yet folded when zeroing at 3 s.
	for range 8 {
		estIn(t, d, estSec(2.5), estClient, estVIP, false, 50)
	}
	d.Advance(estSec(3))
	if err := d.Zero(nil); err != nil {
		t.Fatal(err)
	}
	si := estService(t, d, k)
	estCheck(t, "service after -Z", si.Stats, ipvs.StatsInfo{})
	estCheck(t, "real server after -Z", si.Dests[0].Stats, ipvs.StatsInfo{})
	estCheck(t, "totals after -Z", d.TotalStats(), ipvs.StatsInfo{})

	d.Advance(estSec(4))
	// delta since the zero point: 8 packets, 400 bytes; avgs from 0:
	// 8<<9 = 4096 -> 1024 -> (1024+511)>>10 = 1; 400<<4 = 6400 -> 1600 -> (1600+15)>>5 = 50
	want := ipvs.StatsInfo{InPkts: 8, InBytes: 400, InPPS: 1, InBPS: 50}
	si = estService(t, d, k)
	estCheck(t, "service a tick after -Z", si.Stats, want)
	estCheck(t, "real server a tick after -Z", si.Dests[0].Stats, want)
	estCheck(t, "totals a tick after -Z", d.TotalStats(), want)

	// Zeroing twice in a row, and zeroing an idle director, keep zeros.
	d.Advance(estSec(5))
	d.Zero(nil)
	d.Zero(nil)
	d.Advance(estSec(6))
	estCheck(t, "idle after -Z", estService(t, d, k).Stats, ipvs.StatsInfo{})
}

// TestEstimatorZeroOneService: -Z -t zeroes that service and its real
// servers only; the other services and the totals keep counting
// (ip_vs_zero_service).
func TestEstimatorZeroOneService(t *testing.T) {
	d, k := estDirector(t, nil)
	k2 := estSecondService(t, d)
	estTraffic(t, d, estSec(0.5), estClient)
	estIn(t, d, estSec(0.5), estClient, estVIP2, true, 60)
	d.Advance(estSec(2))
	if err := d.Zero(&k); err != nil {
		t.Fatal(err)
	}
	estCheck(t, "zeroed service", estService(t, d, k).Stats, ipvs.StatsInfo{})
	other := estService(t, d, k2).Stats
	if other.Conns != 1 || other.InPkts != 1 || other.InBytes != 60 {
		t.Errorf("other service: %+v", other)
	}
	tot := d.TotalStats()
	if tot.Conns != 2 || tot.InPkts != 33 || tot.InBytes != 1980 || tot.InPPS != 4 {
		t.Errorf("totals after -Z of one service: %+v", tot)
	}
	if err := d.Zero(&ipvs.ServiceKey{Protocol: ipvs.ProtoUDP, Addr: estVIP.Addr(), Port: 9}); err == nil {
		t.Error("zeroing a missing service: no error")
	}
}

// TestEstimatorPerDest: each real server has its own counters; the
// service's are their sum; templates are not connections.
func TestEstimatorPerDest(t *testing.T) {
	d, k := estDirector(t, nil, func(c *ipvs.ServiceConfig) {
		c.Flags |= ipvs.SvcPersistent
		c.Timeout = 300
		c.Netmask = 0xffffffff
	})
	estAddDest(t, d, k, estRS2)
	// Three clients; each opens two connections (persistence keeps each
	// client on its real server). rr on [RS2, RS1] (newest first).
	var clients []netip.Addr
	for i := range 3 {
		clients = append(clients, netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}))
	}
	bytesTo := map[netip.AddrPort]uint64{}
	for i, c := range clients {
		for j := range 2 {
			r := estIn(t, d, estSec(1), netip.AddrPortFrom(c, uint16(2000+j)), estVIP, true, 60+i)
			bytesTo[r.Conn.DestAddrPort()] += uint64(60 + i)
		}
	}
	d.Advance(estSec(2))
	si := estService(t, d, k)
	if si.Stats.Conns != 6 || si.Stats.InPkts != 6 {
		t.Errorf("service: %+v (templates must not count as connections)", si.Stats)
	}
	var sum ipvs.StatsInfo
	for _, x := range si.Dests {
		ap := netip.AddrPortFrom(x.Addr, x.Port)
		if x.Stats.InBytes != bytesTo[ap] {
			t.Errorf("%v: in bytes %d, want %d", ap, x.Stats.InBytes, bytesTo[ap])
		}
		sum.Conns += x.Stats.Conns
		sum.InPkts += x.Stats.InPkts
		sum.InBytes += x.Stats.InBytes
	}
	if sum.Conns != si.Stats.Conns || sum.InPkts != si.Stats.InPkts || sum.InBytes != si.Stats.InBytes {
		t.Errorf("sum of real servers %+v != service %+v", sum, si.Stats)
	}
	if tot := d.TotalStats(); tot.Conns != 6 {
		t.Errorf("totals: %+v", tot)
	}
}

// TestEstimatorDisabled: with run_estimation = 0 neither the rates nor the
// visible counters change.
func TestEstimatorDisabled(t *testing.T) {
	d, k := estDirector(t, func(s *ipvs.Settings) { s.RunEstimation = false })
	estTraffic(t, d, estSec(0.5), estClient)
	d.Advance(estSec(10))
	estCheck(t, "run_estimation=0", estService(t, d, k).Stats, ipvs.StatsInfo{})
	estCheck(t, "run_estimation=0 totals", d.TotalStats(), ipvs.StatsInfo{})
}

// TestTotalsOutliveServices: the totals (ip_vs_ctl.c: tot_stats) count
// what every service counts, and keep it when a service is deleted; golvs
// sums them from the services at each tick instead of counting each packet
// a third time.
func TestTotalsOutliveServices(t *testing.T) {
	d, k := estDirector(t, nil)
	k2 := estSecondService(t, d)
	estTraffic(t, d, estSec(0.5), estClient)
	estIn(t, d, estSec(0.5), netip.MustParseAddrPort("192.0.2.8:1000"), estVIP2, true, 100)
	d.Advance(estSec(2))
	s1, s2 := estService(t, d, k).Stats, estService(t, d, k2).Stats
	tot := d.TotalStats()
	if tot.Conns != s1.Conns+s2.Conns || tot.InPkts != s1.InPkts+s2.InPkts || tot.InBytes != s1.InBytes+s2.InBytes ||
		tot.OutPkts != s1.OutPkts+s2.OutPkts || tot.OutBytes != s1.OutBytes+s2.OutBytes {
		t.Fatalf("totals %+v, services %+v and %+v", tot, s1, s2)
	}
	if tot.Conns != 2 || tot.InPkts != 33 || tot.InBytes != 2020 || tot.OutBytes != 88 {
		t.Fatalf("totals %+v", tot)
	}
	// Traffic of the second service in the next window, then it is deleted
	// before the tick: its counts stay in the totals.
	estIn(t, d, estSec(3), netip.MustParseAddrPort("192.0.2.9:1000"), estVIP2, true, 40)
	if err := d.DelService(k2); err != nil {
		t.Fatal(err)
	}
	estIn(t, d, estSec(3), netip.MustParseAddrPort("192.0.2.10:1000"), estVIP, true, 50)
	d.Advance(estSec(4))
	tot = d.TotalStats()
	if tot.Conns != 4 || tot.InPkts != 35 || tot.InBytes != 2110 {
		t.Fatalf("totals after deleting a service: %+v", tot)
	}
	// The second tick's byte rate counts the deleted service's 40 bytes:
	// avg = (2020<<4)>>2 = 8080, then 8080 + ((90<<4) - 8080)>>2 = 6420,
	// rate (6420 + 0xF)>>5 = 201 (196 without them).
	if tot.InBPS != 201 {
		t.Fatalf("totals' InBPS %d, want 201", tot.InBPS)
	}
}

// estSecondService adds a TCP service on estVIP2 (rr, one real server
// estRS3) to d.
func estSecondService(t *testing.T, d *ipvs.Director) ipvs.ServiceKey {
	t.Helper()
	k2 := ipvs.ServiceKey{Protocol: ipvs.ProtoTCP, Addr: estVIP2.Addr(), Port: estVIP2.Port()}
	if err := d.AddService(ipvs.ServiceConfig{ServiceKey: k2, Scheduler: "rr"}); err != nil {
		t.Fatal(err)
	}
	estAddDest(t, d, k2, estRS3)
	return k2
}
