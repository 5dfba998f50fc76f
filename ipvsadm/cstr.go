package ipvsadm

// C-library emulation: ipvsadm parses its arguments with glibc's strtol,
// strtoul, inet_aton, inet_pton and prints addresses with inet_ntop. The
// functions below transcribe glibc's behaviour (including the odd corners:
// inet_aton accepts "10.1", "0x0a.1", and trailing garbage after a blank) so
// that golvs accepts and rejects exactly what ipvsadm does.

import (
	"math"
	"strconv"
)

// cString returns s up to its first NUL byte, as C sees an argument.
func cString(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return s[:i]
		}
	}
	return s
}

// isSpace is C's isspace in the "C" locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func hexValue(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// strtol emulates glibc's strtol(s, &end, 10) with a 64-bit long: it
// returns the value, the index of the first unparsed byte (0 when no digits
// were found, as C sets end = s) and whether the value overflowed (ERANGE,
// the value is then clamped).
func strtol(s string) (v int64, end int, erange bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	start := i
	var acc uint64
	const limit = uint64(math.MaxInt64) + 1
	for i < len(s) && isDigit(s[i]) {
		d := uint64(s[i] - '0')
		if !erange {
			if acc > (limit-d)/10 {
				erange = true
			} else {
				acc = acc*10 + d
			}
		}
		i++
	}
	if i == start {
		return 0, 0, false
	}
	switch {
	case erange && neg:
		return math.MinInt64, i, true
	case erange:
		return math.MaxInt64, i, true
	case neg:
		if acc == limit {
			return math.MinInt64, i, false
		}
		return -int64(acc), i, false
	case acc == limit:
		return math.MaxInt64, i, true
	}
	return int64(acc), i, false
}

// stringToNumber transcribes ipvsadm.c: string_to_number: a decimal number
// (strtol) filling the whole string and within [min, max], else -1.
func stringToNumber(s string, min, max int64) int64 {
	v, end, erange := strtol(s)
	if end == len(s) && end != 0 && !erange && min <= v && v <= max {
		return v
	}
	return -1
}

// atoi is C's atoi: (int)strtol(s, NULL, 10).
func atoi(s string) int32 {
	v, _, _ := strtol(s)
	return int32(v)
}

// strtoulBase0 emulates strtoul(s, &end, 0) for a string that starts with
// a digit (the only way glibc's inet_aton calls it): 0x hex, 0 octal, else
// decimal. It returns the value, the end index and ERANGE.
func strtoulBase0(s string) (uint64, int, bool) {
	base := uint64(10)
	i := 0
	if len(s) > 0 && s[0] == '0' {
		if len(s) > 2 && (s[1] == 'x' || s[1] == 'X') && hexValue(s[2]) >= 0 {
			base = 16
			i = 2
		} else {
			base = 8
		}
	}
	var acc uint64
	erange := false
	start := i
	for ; i < len(s); i++ {
		d := hexValue(s[i])
		if d < 0 || uint64(d) >= base {
			break
		}
		if acc > (math.MaxUint64-uint64(d))/base {
			erange = true
		} else if !erange {
			acc = acc*base + uint64(d)
		}
	}
	if i == start && base == 16 {
		// cannot happen: checked above
		return 0, 1, false
	}
	if erange {
		return math.MaxUint64, i, true
	}
	return acc, i, false
}

// inetAton transcribes glibc's inet_aton (resolv/inet_addr.c:
// inet_aton_end): one to four parts in C notation, the last part filling
// the remaining bytes, trailing characters allowed after a blank. It
// returns the address in host order.
func inetAton(s string) (uint32, bool) {
	maxv := [4]uint32{0xffffffff, 0xffffff, 0xffff, 0xff}
	var parts [4]byte
	np := 0
	cp := 0
	var val uint32
	c := byte(0)
	if cp < len(s) {
		c = s[cp]
	}
	for {
		if !isDigit(c) {
			return 0, false
		}
		ul, n, erange := strtoulBase0(s[cp:])
		if erange || ul > 0xffffffff {
			return 0, false
		}
		val = uint32(ul)
		cp += n
		c = 0
		if cp < len(s) {
			c = s[cp]
		}
		if c == '.' {
			if np > 2 || val > 0xff {
				return 0, false
			}
			parts[np] = byte(val)
			np++
			cp++
			c = 0
			if cp < len(s) {
				c = s[cp]
			}
		} else {
			break
		}
	}
	if c != 0 && (c >= 0x80 || !isSpace(c)) {
		return 0, false
	}
	if val > maxv[np] {
		return 0, false
	}
	res := uint32(parts[0])<<24 | uint32(parts[1])<<16 | uint32(parts[2])<<8 | uint32(parts[3])
	return res | val, true
}

// inetPton4 transcribes glibc's inet_pton4: exactly four decimal octets,
// no leading zeros.
func inetPton4(s string) ([4]byte, bool) {
	var tmp [4]byte
	sawDigit := false
	octets := 0
	tp := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case isDigit(ch):
			nv := uint(tmp[tp])*10 + uint(ch-'0')
			if sawDigit && tmp[tp] == 0 {
				return tmp, false
			}
			if nv > 255 {
				return tmp, false
			}
			tmp[tp] = byte(nv)
			if !sawDigit {
				octets++
				if octets > 4 {
					return tmp, false
				}
				sawDigit = true
			}
		case ch == '.' && sawDigit:
			if octets == 4 {
				return tmp, false
			}
			tp++
			tmp[tp] = 0
			sawDigit = false
		default:
			return tmp, false
		}
	}
	if octets < 4 {
		return tmp, false
	}
	return tmp, true
}

// inetPton6 transcribes glibc's inet_pton6.
func inetPton6(s string) ([16]byte, bool) {
	var tmp [16]byte
	tp := 0
	colonp := -1
	src := 0
	if len(s) == 0 {
		return tmp, false
	}
	if s[0] == ':' {
		src++
		if src == len(s) || s[src] != ':' {
			return tmp, false
		}
	}
	curtok := src
	xdigits := 0
	var val uint32
	for src < len(s) {
		ch := s[src]
		src++
		if d := hexValue(ch); d >= 0 {
			if xdigits == 4 {
				return tmp, false
			}
			val = val<<4 | uint32(d)
			if val > 0xffff {
				return tmp, false
			}
			xdigits++
			continue
		}
		if ch == ':' {
			curtok = src
			if xdigits == 0 {
				if colonp >= 0 {
					return tmp, false
				}
				colonp = tp
				continue
			} else if src == len(s) {
				return tmp, false
			}
			if tp+2 > 16 {
				return tmp, false
			}
			tmp[tp] = byte(val >> 8)
			tmp[tp+1] = byte(val)
			tp += 2
			xdigits = 0
			val = 0
			continue
		}
		if ch == '.' && tp+4 <= 16 {
			if v4, ok := inetPton4(s[curtok:]); ok {
				copy(tmp[tp:], v4[:])
				tp += 4
				xdigits = 0
				break
			}
		}
		return tmp, false
	}
	if xdigits > 0 {
		if tp+2 > 16 {
			return tmp, false
		}
		tmp[tp] = byte(val >> 8)
		tmp[tp+1] = byte(val)
		tp += 2
	}
	if colonp >= 0 {
		if tp == 16 {
			return tmp, false
		}
		n := tp - colonp
		copy(tmp[16-n:], append([]byte(nil), tmp[colonp:tp]...))
		for i := colonp; i < 16-n; i++ {
			tmp[i] = 0
		}
		tp = 16
	}
	if tp != 16 {
		return tmp, false
	}
	return tmp, true
}

// inetNtop4 formats an IPv4 address (host order) as dotted decimal.
func inetNtop4(v uint32) string {
	b := make([]byte, 0, 15)
	b = strconv.AppendUint(b, uint64(v>>24), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(v>>16&0xff), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(v>>8&0xff), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(v&0xff), 10)
	return string(b)
}

// inetNtop6 transcribes glibc's inet_ntop6 (resolv/inet_ntop.c): the
// longest run of two or more zero groups becomes "::" (the first one on a
// tie), and IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d)
// addresses end in dotted decimal.
func inetNtop6(a [16]byte) string {
	var words [8]uint32
	for i := 0; i < 16; i += 2 {
		words[i/2] = uint32(a[i])<<8 | uint32(a[i+1])
	}
	bestBase, bestLen := -1, 0
	curBase, curLen := -1, 0
	for i := 0; i < 8; i++ {
		if words[i] == 0 {
			if curBase == -1 {
				curBase, curLen = i, 1
			} else {
				curLen++
			}
		} else if curBase != -1 {
			if bestBase == -1 || curLen > bestLen {
				bestBase, bestLen = curBase, curLen
			}
			curBase = -1
		}
	}
	if curBase != -1 && (bestBase == -1 || curLen > bestLen) {
		bestBase, bestLen = curBase, curLen
	}
	if bestBase != -1 && bestLen < 2 {
		bestBase = -1
	}
	b := make([]byte, 0, 46)
	for i := 0; i < 8; i++ {
		if bestBase != -1 && i >= bestBase && i < bestBase+bestLen {
			if i == bestBase {
				b = append(b, ':')
			}
			continue
		}
		if i != 0 {
			b = append(b, ':')
		}
		if i == 6 && bestBase == 0 && (bestLen == 6 || (bestLen == 5 && words[5] == 0xffff)) {
			b = append(b, inetNtop4(uint32(a[12])<<24|uint32(a[13])<<16|uint32(a[14])<<8|uint32(a[15]))...)
			return string(b)
		}
		b = strconv.AppendUint(b, uint64(words[i]), 16)
	}
	if bestBase != -1 && bestBase+bestLen == 8 {
		b = append(b, ':')
	}
	return string(b)
}
