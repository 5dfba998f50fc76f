package ipvs

import (
	"math/rand/v2"
	"testing"
)

// TestSvcIndexAgainstMap: the packet path's service index finds exactly
// what Director.svcs holds, through random additions and deletions of
// services that share addresses, ports and protocols.
func TestSvcIndexAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	svcs := map[svcMapKey]*Service{}
	var ix svcIndex
	key := func() svcMapKey {
		k := svcMapKey{af: AFInet, proto: []uint8{ProtoTCP, ProtoUDP, ProtoSCTP}[r.IntN(3)], port: uint16(r.IntN(4))}
		if r.IntN(2) == 0 {
			k.af = AFInet6
			k.addr[0] = 0x20
		}
		k.addr[15] = byte(r.IntN(8))
		return k
	}
	for step := 0; step < 5000; step++ {
		k := key()
		if _, ok := svcs[k]; ok && r.IntN(2) == 0 {
			delete(svcs, k)
		} else {
			svcs[k] = &Service{key: ServiceKey{Family: k.af, Protocol: k.proto, Port: k.port}, vaddr: k.addr}
		}
		ix.rebuild(svcs)
		for i := 0; i < 8; i++ {
			q := key()
			if got, want := ix.find(q.af, q.proto, q.addr, q.port), svcs[q]; got != want {
				t.Fatalf("step %d: find(%v) = %p, map has %p", step, q, got, want)
			}
		}
	}
	if (&svcIndex{}).find(AFInet, ProtoTCP, addr16{}, 80) != nil {
		t.Fatal("empty index found a service")
	}
}
