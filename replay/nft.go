package replay

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// nftRule is one `nft add rule ... meta mark set N` rule of a prerouting
// chain: every match must hold for the mark to be set.
type nftRule struct {
	matches []nftMatch
	mark    uint32
}

type nftMatch struct {
	field string // "saddr", "daddr", "sport", "dport", "l4proto"
	proto uint8  // for ports: 6 or 17 (0: any)
	neg   bool
	pfx   []netip.Prefix
	ports [][2]uint16 // inclusive ranges
}

func (m nftMatch) eval(pk *packet) bool {
	ok := false
	switch m.field {
	case "saddr", "daddr":
		a := pk.src
		if m.field == "daddr" {
			a = pk.dst
		}
		for _, p := range m.pfx {
			if p.Contains(a) {
				ok = true
			}
		}
	case "sport", "dport":
		if m.proto != 0 && m.proto != pk.proto {
			return false
		}
		v := pk.sport
		if m.field == "dport" {
			v = pk.dport
		}
		for _, r := range m.ports {
			if v >= r[0] && v <= r[1] {
				ok = true
			}
		}
	case "l4proto":
		for _, r := range m.ports {
			if uint16(pk.proto) == r[0] {
				ok = true
			}
		}
	}
	return ok != m.neg
}

// nftState holds the rules of prerouting chains in mangle-like tables.
type nftState struct {
	tables map[string]bool
	chains map[string]bool // "table/chain" of prerouting filter chains
	rules  []nftRule
}

// mark returns the packet mark after the prerouting rules, as nftables
// sets it: every matching rule with `meta mark set` overwrites it.
func (n *nftState) mark(pk *packet) uint32 {
	var mark uint32
	for _, r := range n.rules {
		all := true
		for _, m := range r.matches {
			if !m.eval(pk) {
				all = false
				break
			}
		}
		if all {
			mark = r.mark
		}
	}
	return mark
}

// apply runs one `nft ...` line. Supported: add/create table, add/create
// chain, add rule with ip saddr/daddr (prefixes, sets), tcp/udp sport/dport
// (values, ranges, sets), meta l4proto, counter, and `meta mark set N` /
// `mark set N`; flush ruleset. Anything else is an error naming it.
func (n *nftState) apply(args []string) error {
	if n.tables == nil {
		n.tables = map[string]bool{}
		n.chains = map[string]bool{}
	}
	toks := nftTokens(args)
	if len(toks) >= 2 && toks[0] == "flush" && toks[1] == "ruleset" {
		*n = nftState{tables: map[string]bool{}, chains: map[string]bool{}}
		return nil
	}
	if len(toks) < 3 || (toks[0] != "add" && toks[0] != "create" && toks[0] != "insert") {
		return fmt.Errorf("nft: unsupported command %q", strings.Join(args, " "))
	}
	switch toks[1] {
	case "table":
		fam, name, ok := famName(toks[2:])
		if !ok {
			return fmt.Errorf("nft: bad table in %q", strings.Join(args, " "))
		}
		if fam != "ip" {
			return fmt.Errorf("nft: only family ip is evaluated, not %q", fam)
		}
		n.tables[name] = true
		return nil
	case "chain":
		fam, rest := "ip", toks[2:]
		if len(rest) > 0 && (rest[0] == "ip" || rest[0] == "ip6" || rest[0] == "inet") {
			fam, rest = rest[0], rest[1:]
		}
		if fam != "ip" || len(rest) < 2 {
			return fmt.Errorf("nft: unsupported chain %q", strings.Join(args, " "))
		}
		if !n.tables[rest[0]] {
			return nftMissing(args, rest[0])
		}
		spec := strings.Join(rest[2:], " ")
		if !strings.Contains(spec, "hook prerouting") {
			if spec == "" {
				n.chains[rest[0]+"/"+rest[1]+"/regular"] = true
				return nil
			}
			return fmt.Errorf("nft: only prerouting chains are evaluated: %q", strings.Join(args, " "))
		}
		n.chains[rest[0]+"/"+rest[1]] = true
		return nil
	case "rule":
		rest := toks[2:]
		if len(rest) > 0 && (rest[0] == "ip" || rest[0] == "ip6" || rest[0] == "inet") {
			if rest[0] != "ip" {
				return fmt.Errorf("nft: only family ip is evaluated: %q", strings.Join(args, " "))
			}
			rest = rest[1:]
		}
		if len(rest) < 2 {
			return fmt.Errorf("nft: rule without table and chain: %q", strings.Join(args, " "))
		}
		if !n.tables[rest[0]] {
			return nftMissing(args, rest[0])
		}
		if n.chains[rest[0]+"/"+rest[1]+"/regular"] {
			return fmt.Errorf("nft: rule in %s %s, which is not a prerouting chain golvs knows", rest[0], rest[1])
		}
		if !n.chains[rest[0]+"/"+rest[1]] {
			return nftMissing(args, rest[1])
		}
		r, err := parseNftRule(rest[2:])
		if err != nil {
			return fmt.Errorf("nft: %v in %q", err, strings.Join(args, " "))
		}
		if toks[0] == "insert" {
			n.rules = append([]nftRule{r}, n.rules...)
		} else {
			n.rules = append(n.rules, r)
		}
		return nil
	}
	return fmt.Errorf("nft: unsupported command %q", strings.Join(args, " "))
}

func famName(t []string) (string, string, bool) {
	switch len(t) {
	case 1:
		return "ip", t[0], true
	case 2:
		return t[0], t[1], true
	}
	return "", "", false
}

// nftTokens splits on blanks and separates braces and commas.
func nftTokens(args []string) []string {
	s := strings.Join(args, " ")
	for _, c := range []string{"{", "}", ",", ";"} {
		s = strings.ReplaceAll(s, c, " "+c+" ")
	}
	return strings.Fields(s)
}

func parseNftRule(t []string) (nftRule, error) {
	var r nftRule
	haveMark := false
	for i := 0; i < len(t); {
		switch {
		case t[i] == "counter":
			i++
		case t[i] == "ip" && i+1 < len(t) && (t[i+1] == "saddr" || t[i+1] == "daddr"):
			m := nftMatch{field: t[i+1]}
			vals, neg, next, err := nftValues(t, i+2)
			if err != nil {
				return r, err
			}
			m.neg = neg
			for _, v := range vals {
				p, err := parsePrefix(v)
				if err != nil {
					return r, err
				}
				m.pfx = append(m.pfx, p)
			}
			r.matches = append(r.matches, m)
			i = next
		case (t[i] == "tcp" || t[i] == "udp") && i+1 < len(t) && (t[i+1] == "sport" || t[i+1] == "dport"):
			m := nftMatch{field: t[i+1], proto: 6}
			if t[i] == "udp" {
				m.proto = 17
			}
			vals, neg, next, err := nftValues(t, i+2)
			if err != nil {
				return r, err
			}
			m.neg = neg
			for _, v := range vals {
				pr, err := parsePortRange(v)
				if err != nil {
					return r, err
				}
				m.ports = append(m.ports, pr)
			}
			r.matches = append(r.matches, m)
			i = next
		case (t[i] == "meta" && i+1 < len(t) && t[i+1] == "l4proto") || (t[i] == "ip" && i+1 < len(t) && t[i+1] == "protocol"):
			m := nftMatch{field: "l4proto"}
			vals, neg, next, err := nftValues(t, i+2)
			if err != nil {
				return r, err
			}
			m.neg = neg
			for _, v := range vals {
				switch v {
				case "tcp", "6":
					m.ports = append(m.ports, [2]uint16{6, 6})
				case "udp", "17":
					m.ports = append(m.ports, [2]uint16{17, 17})
				case "sctp", "132":
					m.ports = append(m.ports, [2]uint16{132, 132})
				default:
					return r, fmt.Errorf("unknown protocol %q", v)
				}
			}
			r.matches = append(r.matches, m)
			i = next
		case t[i] == "meta" && i+3 < len(t) && t[i+1] == "mark" && t[i+2] == "set":
			v, err := strconv.ParseUint(t[i+3], 0, 32)
			if err != nil {
				return r, fmt.Errorf("bad mark %q", t[i+3])
			}
			r.mark, haveMark = uint32(v), true
			i += 4
		case t[i] == "mark" && i+2 < len(t) && t[i+1] == "set":
			v, err := strconv.ParseUint(t[i+2], 0, 32)
			if err != nil {
				return r, fmt.Errorf("bad mark %q", t[i+2])
			}
			r.mark, haveMark = uint32(v), true
			i += 3
		default:
			return r, fmt.Errorf("unsupported rule element %q", t[i])
		}
	}
	if !haveMark {
		return r, fmt.Errorf("rule sets no mark")
	}
	return r, nil
}

// nftValues reads a value, `!= value`, or a `{ a, b }` set starting at t[i].
func nftValues(t []string, i int) (vals []string, neg bool, next int, err error) {
	if i < len(t) && t[i] == "!=" {
		neg = true
		i++
	}
	if i >= len(t) {
		return nil, false, i, fmt.Errorf("missing value")
	}
	if t[i] != "{" {
		return []string{t[i]}, neg, i + 1, nil
	}
	for i++; i < len(t) && t[i] != "}"; i++ {
		if t[i] != "," {
			vals = append(vals, t[i])
		}
	}
	if i >= len(t) {
		return nil, false, i, fmt.Errorf("unterminated set")
	}
	return vals, neg, i + 1, nil
}

func parsePrefix(v string) (netip.Prefix, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return p, fmt.Errorf("bad prefix %q", v)
		}
		return p.Masked(), nil
	}
	if a, b, ok := strings.Cut(v, "-"); ok {
		_ = b
		return netip.Prefix{}, fmt.Errorf("address ranges are not evaluated: %q", a+"-"+b)
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad address %q", v)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func parsePortRange(v string) ([2]uint16, error) {
	lo, hi, isRange := strings.Cut(v, "-")
	a, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return [2]uint16{}, fmt.Errorf("bad port %q", v)
	}
	b := a
	if isRange {
		if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
			return [2]uint16{}, fmt.Errorf("bad port range %q", v)
		}
	}
	return [2]uint16{uint16(a), uint16(b)}, nil
}

// nftError is what nft prints for a command the kernel refuses; the
// replay prints it as the guest's output instead of failing.
type nftError struct{ lines []string }

func (e *nftError) Error() string { return strings.Join(e.lines, "\n") }

// nftMissing is nft's answer to a rule or chain naming a missing table or
// chain: the error, the command, and carets under the missing name.
func nftMissing(args []string, name string) error {
	cmd := strings.Join(args, " ")
	at := -1
	pos := 0
	for _, a := range args {
		if a == name && at < 0 && pos > 0 {
			at = pos
		}
		pos += len(a) + 1
	}
	if at < 0 {
		at = strings.Index(cmd, name)
	}
	return &nftError{lines: []string{
		"Error: Could not process rule: No such file or directory",
		cmd,
		strings.Repeat(" ", at) + strings.Repeat("^", len(name)),
	}}
}
