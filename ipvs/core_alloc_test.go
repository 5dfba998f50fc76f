package ipvs_test

import (
	"testing"

	"github.com/golvs/golvs/ipvs"
)

// TestExistingConnectionLookupAllocs: the hot path, a packet of an existing
// connection (ip_vs_in_hook: ip_vs_conn_in_get, state transition, timer
// restart), allocates nothing.
func TestExistingConnectionLookupAllocs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		persist bool
		pkt     func() *ipvs.Packet
		out     bool
	}{
		{"tcp-ack", false, func() *ipvs.Packet { return ack("10.9.0.1:1000", "10.0.0.1:80") }, false},
		{"tcp-ack-persistent", true, func() *ipvs.Packet { return ack("10.9.0.1:1000", "10.0.0.1:80") }, false},
		{"tcp-reply", false, func() *ipvs.Packet { return reply("10.8.0.2:80", "10.9.0.1:1000", ipvs.TCPAck) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			opts := []svcOpt{}
			if tc.persist {
				opts = append(opts, persist(300))
			}
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", opts...)
			r.addDest(k, "10.8.0.1:80")
			r.addDest(k, "10.8.0.2:80")
			r.open("10.9.0.1:1000", "10.0.0.1:80", "10.8.0.2:80")
			// Fill the table a little so the lookup walks real chains.
			for i := 0; i < 1000; i++ {
				r.send(syn("10.9.0.2:"+itoa(2000+i), "10.0.0.1:80"))
			}
			p := tc.pkt()
			var now ipvs.Time
			allocs := testing.AllocsPerRun(1000, func() {
				now += 1000
				res := r.d.Process(p, now)
				if res.Verdict != ipvs.VerdictForward || res.New {
					t.Fatalf("not an existing connection: %v/%v", res.Verdict, res.Reason)
				}
			})
			if allocs != 0 {
				t.Fatalf("Process of a packet of an existing connection: %v allocations, want 0", allocs)
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
