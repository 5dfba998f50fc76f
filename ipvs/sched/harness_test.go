package sched

import (
	"net/netip"
	"reflect"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/golvs/golvs/ipvs"
)

// The core offers no way yet to add, delete or edit a dest of a detached
// test service and call the scheduler hooks the way ip_vs_ctl.c does
// (__ip_vs_update_dest, __ip_vs_del_dest). Until it does, these helpers edit
// the service's list and the dests' index and AVAILABLE flag through
// reflection, for tests only.

func field(v any, name string) reflect.Value {
	f := reflect.ValueOf(v).Elem().FieldByName(name)
	if !f.IsValid() {
		panic("ipvs internals changed: no field " + name)
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem()
}

func setDests(s *ipvs.Service, ds []*ipvs.Dest) {
	field(s, "dests").Set(reflect.ValueOf(ds))
	for i, d := range ds {
		field(d, "index").SetInt(int64(i))
	}
}

func setAvailable(d *ipvs.Dest, ok bool) {
	(*atomic.Bool)(unsafe.Pointer(field(d, "available").UnsafeAddr())).Store(ok)
}

var vip = netip.MustParseAddr("10.0.0.1")

// harness is one virtual service with its scheduler, changed like the
// kernel's ip_vs_ctl.c does (new dests at the head, hooks after the change).
type harness struct {
	t     testing.TB
	s     *ipvs.Service
	sch   ipvs.Scheduler
	now   ipvs.Time
	sport uint16
	// uthr holds upper thresholds (-x) for the OVERLOAD emulation.
	uthr map[*ipvs.Dest]int32
}

func newHarness(t testing.TB, name string, flags ipvs.ServiceFlags, opts ...Option) *harness {
	t.Helper()
	sch, err := NewWith(name, opts...)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ipvs.ServiceConfig{ServiceKey: ipvs.ServiceKey{Family: ipvs.AFInet, Protocol: ipvs.ProtoTCP, Addr: vip, Port: 80}, Scheduler: name, Flags: flags}
	s := ipvs.NewSchedTestService(cfg, nil)
	if in, ok := sch.(interface{ InitService(*ipvs.Service) }); ok {
		in.InitService(s)
	}
	return &harness{t: t, s: s, sch: sch, sport: 40000, uthr: map[*ipvs.Dest]int32{}}
}

func addr(a string) netip.Addr { return netip.MustParseAddr(a) }

// add links a new dest at the head ("ipvsadm -a -r a:port -w w") and calls
// add_dest.
func (h *harness) add(a string, port uint16, w int32) *ipvs.Dest {
	h.t.Helper()
	tmp := ipvs.NewSchedTestService(ipvs.ServiceConfig{}, []ipvs.DestState{{Addr: addr(a), Port: port, Weight: w}})
	d := tmp.Dests()[0]
	setDests(h.s, append([]*ipvs.Dest{d}, h.s.Dests()...))
	if o, ok := h.sch.(ipvs.DestObserver); ok {
		o.AddDest(h.s, d)
	}
	return d
}

// addAll adds dests ".N" (10.8.0.N:80) with the given weights, in order.
func (h *harness) addAll(ws map[string]int32, order ...string) map[string]*ipvs.Dest {
	m := map[string]*ipvs.Dest{}
	for _, n := range order {
		m[n] = h.add("10.8.0"+n, 80, ws[n])
	}
	return m
}

// del unlinks d and calls del_dest with its predecessor.
func (h *harness) del(d *ipvs.Dest) {
	h.t.Helper()
	ds := h.s.Dests()
	i := d.Index()
	if ds[i] != d {
		h.t.Fatal("dest not in list")
	}
	var prev *ipvs.Dest
	if i > 0 {
		prev = ds[i-1]
	}
	setAvailable(d, false)
	nds := append(append([]*ipvs.Dest{}, ds[:i]...), ds[i+1:]...)
	setDests(h.s, nds)
	if o, ok := h.sch.(ipvs.DestObserver); ok {
		o.DelDest(h.s, d, prev)
	}
}

// edit sets d's weight ("ipvsadm -e -w") and calls upd_dest.
func (h *harness) edit(d *ipvs.Dest, w int32) {
	d.SetTestWeight(w)
	if o, ok := h.sch.(ipvs.DestObserver); ok {
		o.UpdDest(h.s, d)
	}
}

func (h *harness) pkt(src string, sport uint16, dst netip.Addr) *ipvs.Packet {
	return &ipvs.Packet{Family: ipvs.AFInet, Protocol: ipvs.ProtoTCP, Src: addr(src), Dst: dst,
		SrcPort: sport, DstPort: 80, TCPFlags: ipvs.TCPSyn, Len: 60}
}

// bind counts a new connection that stays in SYN_RECV on d (activeconns
// and totalconns + 1), raising OVERLOAD when totalconns reaches the upper
// threshold (ip_vs_conn.c: ip_vs_bind_dest, __ip_vs_dest_update_overload
// mode +1 with l = u - u/4).
func (h *harness) bind(d *ipvs.Dest) {
	if d == nil {
		return
	}
	a, tot := d.ActiveConns()+1, d.TotalConns()+1
	ov := d.Overloaded()
	if u := h.uthr[d]; u != 0 && tot == u {
		ov = tot >= u-u>>2
	}
	d.SetTestCounters(a, tot, ov)
}

// syn schedules one SYN from src (a fresh source port) to dst and binds
// the chosen dest.
func (h *harness) synTo(src string, dst netip.Addr) *ipvs.Dest {
	h.sport++
	d := h.sch.Schedule(h.s, h.pkt(src, h.sport, dst), h.now)
	h.bind(d)
	return d
}

func (h *harness) syn(src string) *ipvs.Dest { return h.synTo(src, vip) }

// pick schedules without binding.
func (h *harness) pick(src string, sport uint16) *ipvs.Dest {
	return h.sch.Schedule(h.s, h.pkt(src, sport, vip), h.now)
}

// name returns ".N" for 10.8.0.N, "-" for nil.
func name(d *ipvs.Dest) string {
	if d == nil {
		return "-"
	}
	b := d.Addr().As4()
	return "." + itoa(int(b[3]))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [8]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// expectSeq compares picks with a want list of ".N" names.
func expectSeq(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
	}
}

// syns sends n SYNs from distinct clients 10.9.0.1.. and returns the names.
func (h *harness) syns(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, name(h.syn("10.9.0."+itoa(i))))
	}
	return out
}
