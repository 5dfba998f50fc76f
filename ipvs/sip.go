package ipvs

import "bytes"

// sipCallID extracts the Call-ID as ip_vs_pe_sip.c: ip_vs_sip_fill_param
// does: only for UDP; the value of the first "Call-ID:" header (compact form
// "i:"), at most 255 bytes, which must end with CR or LF.
func sipCallID(p *Packet) (string, bool) {
	if p.Protocol != ProtoUDP {
		return "", false
	}
	b := p.Payload
	for len(b) > 0 {
		line := b
		if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
			line = b[:i]
			b = b[i+1:]
		} else {
			// A header not ended by CR or LF is not used.
			return "", false
		}
		var rest []byte
		switch {
		case len(line) >= 8 && bytes.EqualFold(line[:8], []byte("call-id:")):
			rest = line[8:]
		case len(line) >= 2 && (line[0] == 'i' || line[0] == 'I') && line[1] == ':':
			rest = line[2:]
		default:
			continue
		}
		rest = bytes.TrimLeft(rest, " \t")
		if len(rest) == 0 || len(rest) > 255 {
			return "", false
		}
		return string(rest), true
	}
	return "", false
}
