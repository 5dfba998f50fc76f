package ipvsadm

// A transcription of the parts of popt 1.19 (popt.c: poptGetNextOpt) that
// ipvsadm's option table exercises: clusters of short options ("-Ln"),
// "--long=value" and "-s=value"/"-svalue" forms, arguments taken from the
// next word whatever it looks like (except for the optional argument of -p,
// which is not taken when the next word starts with '-'), "--" ending the
// options, words that are not options collected as leftovers, no
// abbreviation of long names, and popt's error codes and texts.

const (
	poptErrNoArg       = -10
	poptErrBadOpt      = -11
	poptErrUnwantedArg = -12
)

// poptStrerror transcribes popt.c: poptStrerror for the errors that can occur.
func poptStrerror(code int) string {
	switch code {
	case poptErrNoArg:
		return "missing argument"
	case poptErrUnwantedArg:
		return "option does not take an argument"
	case poptErrBadOpt:
		return "unknown option"
	}
	return "unknown error"
}

type poptOption struct {
	long     string
	short    byte
	hasArg   bool
	optional bool
	val      int
}

// Option tags, as ipvsadm.c's enum (values outside ASCII).
const (
	tagSet = 128 + iota
	tagStartDaemon
	tagStopDaemon
	tagMcastInterface
	tagTimeout
	tagDaemon
	tagStats
	tagRate
	tagThresholds
	tagPersistentConn
	tagSort
	tagNoSort
	tagPersistenceEngine
	tagSCTPService
	tagMcastGroup
	tagMcastPort
	tagMcastTTL
	tagSyncMaxlen
	tagTunInfo
	tagTunType
	tagTunPort
	tagTunNoCsum
	tagTunCsum
	tagTunRemCsum
	// golvs-only
	tagOutput = 1000
)

// poptTable is ipvsadm.c: parse_options' options_table, plus golvs's
// --output.
var poptTable = []poptOption{
	{"add-service", 'A', false, false, 'A'},
	{"edit-service", 'E', false, false, 'E'},
	{"delete-service", 'D', false, false, 'D'},
	{"clear", 'C', false, false, 'C'},
	{"list", 'L', false, false, 'L'},
	{"list", 'l', false, false, 'l'},
	{"zero", 'Z', false, false, 'Z'},
	{"add-server", 'a', false, false, 'a'},
	{"edit-server", 'e', false, false, 'e'},
	{"delete-server", 'd', false, false, 'd'},
	{"set", 0, false, false, tagSet},
	{"help", 'h', false, false, 'h'},
	{"version", 'v', false, false, 'v'},
	{"restore", 'R', false, false, 'R'},
	{"save", 'S', false, false, 'S'},
	{"start-daemon", 0, true, false, tagStartDaemon},
	{"stop-daemon", 0, true, false, tagStopDaemon},
	{"tcp-service", 't', true, false, 't'},
	{"udp-service", 'u', true, false, 'u'},
	{"sctp-service", 0, true, false, tagSCTPService},
	{"fwmark-service", 'f', true, false, 'f'},
	{"scheduler", 's', true, false, 's'},
	{"persistent", 'p', true, true, 'p'},
	{"netmask", 'M', true, false, 'M'},
	{"real-server", 'r', true, false, 'r'},
	{"masquerading", 'm', false, false, 'm'},
	{"ipip", 'i', false, false, 'i'},
	{"gatewaying", 'g', false, false, 'g'},
	{"weight", 'w', true, false, 'w'},
	{"u-threshold", 'x', true, false, 'x'},
	{"l-threshold", 'y', true, false, 'y'},
	{"numeric", 'n', false, false, 'n'},
	{"connection", 'c', false, false, 'c'},
	{"mcast-interface", 0, true, false, tagMcastInterface},
	{"syncid", 0, true, false, 'I'},
	{"timeout", 0, false, false, tagTimeout},
	{"daemon", 0, false, false, tagDaemon},
	{"stats", 0, false, false, tagStats},
	{"rate", 0, false, false, tagRate},
	{"thresholds", 0, false, false, tagThresholds},
	{"persistent-conn", 0, false, false, tagPersistentConn},
	{"nosort", 0, false, false, tagNoSort},
	{"sort", 0, false, false, tagSort},
	{"exact", 'X', false, false, 'X'},
	{"ipv6", '6', false, false, '6'},
	{"ops", 'o', false, false, 'o'},
	{"pe", 0, true, false, tagPersistenceEngine},
	{"sched-flags", 'b', true, false, 'b'},
	{"mcast-group", 0, true, false, tagMcastGroup},
	{"mcast-port", 0, true, false, tagMcastPort},
	{"mcast-ttl", 0, true, false, tagMcastTTL},
	{"sync-maxlen", 0, true, false, tagSyncMaxlen},
	{"tun-info", 0, false, false, tagTunInfo},
	{"tun-type", 0, true, false, tagTunType},
	{"tun-port", 0, true, false, tagTunPort},
	{"tun-nocsum", 0, false, false, tagTunNoCsum},
	{"tun-csum", 0, false, false, tagTunCsum},
	{"tun-remcsum", 0, false, false, tagTunRemCsum},
	{"output", 0, true, false, tagOutput},
}

type poptContext struct {
	argv []string // argv[0] is the program name
	next int
	// nextCharArg is the rest of a cluster of short options still to be
	// processed; hasCharArg tells whether it is set (it may be empty).
	nextCharArg  string
	hasCharArg   bool
	restLeftover bool
	leftovers    []string
	nextLeftover int
	// consumed marks words taken by "!#:+" expansion (popt's argb).
	consumed map[int]bool

	// optArg is the argument of the last option; hasArg false is NULL.
	optArg string
	hasArg bool
}

func newPopt(argv []string) *poptContext {
	return &poptContext{argv: argv, next: 1}
}

func findLong(name string) *poptOption {
	for i := range poptTable {
		if poptTable[i].long == name {
			return &poptTable[i]
		}
	}
	return nil
}

func findShort(c byte) *poptOption {
	if c == 0 {
		return nil
	}
	for i := range poptTable {
		if poptTable[i].short == c {
			return &poptTable[i]
		}
	}
	return nil
}

// expandNextArg transcribes popt.c: expandNextArg: each "!#:+" is replaced
// by the next word that does not start with '-' (which is then skipped).
// Where popt would loop for ever (no such word but words remain), golvs
// keeps the text as it is.
func (c *poptContext) expandNextArg(s string) string {
	var b []byte
	a, found := "", false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == '!' && i+4 <= len(s) && s[i+1:i+4] == "#:+" {
			if !found {
				a, found = c.findNextArg()
			}
			if found {
				b = append(b, a...)
				i += 3
				continue
			}
		}
		b = append(b, ch)
	}
	return string(b)
}

func (c *poptContext) findNextArg() (string, bool) {
	for i := c.next; i < len(c.argv); i++ {
		if c.consumed[i] {
			continue
		}
		if len(c.argv[i]) > 0 && c.argv[i][0] == '-' {
			continue
		}
		if c.consumed == nil {
			c.consumed = map[int]bool{}
		}
		c.consumed[i] = true
		return c.argv[i], true
	}
	return "", false
}

// getNextOpt transcribes poptGetNextOpt: it returns the option's val, -1
// at the end, or a popt error code (< -1). The option's argument is left
// in optArg/hasArg.
func (c *poptContext) getNextOpt() int {
	for {
		var opt *poptOption
		longArg, hasLongArg := "", false
		if !c.hasCharArg && c.next == len(c.argv) {
			return -1
		}
		if !c.hasCharArg {
			if c.consumed[c.next] {
				c.next++
				continue
			}
			orig := c.argv[c.next]
			c.next++
			if c.restLeftover || len(orig) == 0 || orig[0] != '-' || orig == "-" {
				c.leftovers = append(c.leftovers, orig)
				continue
			}
			if orig == "--" {
				c.restLeftover = true
				continue
			}
			optString := orig[1:]
			oneDash := true
			if optString[0] == '-' {
				optString = optString[1:]
				oneDash = false
			}
			name := optString
			for i := 0; i < len(optString); i++ {
				if optString[i] == '=' {
					name = optString[:i]
					longArg, hasLongArg = optString[i+1:], true
					break
				}
			}
			if !oneDash {
				opt = findLong(name)
				if opt == nil {
					return poptErrBadOpt
				}
			} else {
				// No option of ipvsadm's table accepts a single dash
				// before its long name: the word is a cluster.
				c.nextCharArg, c.hasCharArg = orig[1:], true
				longArg, hasLongArg = "", false
			}
		}
		if c.hasCharArg {
			nca := c.nextCharArg
			c.nextCharArg, c.hasCharArg = "", false
			opt = findShort(nca[0])
			if opt == nil {
				return poptErrBadOpt
			}
			if len(nca) > 1 {
				c.nextCharArg, c.hasCharArg = nca[1:], true
			}
		}
		if !opt.hasArg {
			if hasLongArg || (c.hasCharArg && c.nextCharArg[0] == '=') {
				return poptErrUnwantedArg
			}
			c.hasArg = false
		} else {
			c.optArg, c.hasArg = "", false
			switch {
			case hasLongArg:
				c.optArg, c.hasArg = c.expandNextArg(longArg), true
			case c.hasCharArg:
				s := c.nextCharArg
				if s[0] == '=' {
					s = s[1:]
				}
				c.optArg, c.hasArg = c.expandNextArg(s), true
				c.nextCharArg, c.hasCharArg = "", false
			default:
				if c.next == len(c.argv) {
					if !opt.optional {
						return poptErrNoArg
					}
				} else if opt.optional && len(c.argv[c.next]) > 0 && c.argv[c.next][0] == '-' {
					// optional argument not given
				} else {
					w := c.argv[c.next]
					c.next++
					c.optArg, c.hasArg = c.expandNextArg(w), true
				}
			}
		}
		return opt.val
	}
}

// badOption is poptBadOption(con, POPT_BADOPTION_NOALIAS): the last word
// looked at.
func (c *poptContext) badOption() string {
	if c.next-1 < 0 || c.next-1 >= len(c.argv) {
		return ""
	}
	return c.argv[c.next-1]
}

// getArg is poptGetArg: the next leftover word, or false.
func (c *poptContext) getArg() (string, bool) {
	if c.nextLeftover < len(c.leftovers) {
		s := c.leftovers[c.nextLeftover]
		c.nextLeftover++
		return s, true
	}
	return "", false
}
