package ipvs

import "encoding/binary"

// svcIndex finds address services on the new-connection path (the
// kernel's ip_vs_service_find hashes into ip_vs_svc_table). It is an
// open-addressed copy of Director.svcs, rebuilt whenever a service is
// added or deleted (under the director's exclusive lock), so a lookup is
// one hash and usually one probe instead of a map access: this runs for
// every new connection.
type svcIndex struct {
	slots []*Service
	hash  []uint64
}

func svcHash(af Family, proto uint8, vaddr addr16, port uint16) uint64 {
	h := mix(uint64(af)<<24|uint64(proto)<<16|uint64(port), binary.LittleEndian.Uint64(vaddr[:8]))
	return mix(h, binary.LittleEndian.Uint64(vaddr[8:]))
}

// rebuild indexes svcs, at most half full.
func (ix *svcIndex) rebuild(svcs map[svcMapKey]*Service) {
	n := 8
	for n < 2*len(svcs) {
		n *= 2
	}
	ix.slots = make([]*Service, n)
	ix.hash = make([]uint64, n)
	mask := uint64(n - 1)
	for k, s := range svcs {
		h := svcHash(k.af, k.proto, k.addr, k.port)
		i := h & mask
		for ix.slots[i] != nil {
			i = (i + 1) & mask
		}
		ix.slots[i], ix.hash[i] = s, h
	}
}

func (ix *svcIndex) find(af Family, proto uint8, vaddr addr16, port uint16) *Service {
	if len(ix.slots) == 0 {
		return nil
	}
	h := svcHash(af, proto, vaddr, port)
	mask := uint64(len(ix.slots) - 1)
	for i := h & mask; ix.slots[i] != nil; i = (i + 1) & mask {
		if s := ix.slots[i]; ix.hash[i] == h && s.key.Port == port && s.key.Protocol == proto &&
			s.key.Family == af && s.vaddr == vaddr {
			return s
		}
	}
	return nil
}
