package replay

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Transcript is a parsed oracle (or golvs) transcript.
type Transcript struct {
	Steps []Step
}

// Step is one scenario step of a transcript.
type Step struct {
	N    int
	Line string
	Time float64
	Out  []string
	// Dump maps a section title ("ipvsadm -L -n", ...) to its lines.
	Dump     map[string][]string
	HasDump  bool
	Warnings []string
}

// ParseTranscript reads a transcript.
func ParseTranscript(r io.Reader) (*Transcript, error) {
	t := &Transcript{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var cur *Step
	section := ""
	inDump := false
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "ORACLE-STEP "):
			rest := strings.TrimPrefix(l, "ORACLE-STEP ")
			num, line, ok := strings.Cut(rest, ": ")
			n, err := strconv.Atoi(num)
			if !ok || err != nil {
				return nil, fmt.Errorf("bad step line %q", l)
			}
			t.Steps = append(t.Steps, Step{N: n, Line: line})
			cur = &t.Steps[len(t.Steps)-1]
			inDump = false
		case strings.HasPrefix(l, "ORACLE-TIME "):
			if cur != nil {
				cur.Time, _ = strconv.ParseFloat(strings.TrimPrefix(l, "ORACLE-TIME "), 64)
			}
		case strings.HasPrefix(l, "ORACLE-OUT"):
			if cur != nil {
				cur.Out = append(cur.Out, strings.TrimPrefix(strings.TrimPrefix(l, "ORACLE-OUT"), " "))
			}
		case strings.HasPrefix(l, "ORACLE-WARN"):
			if cur != nil {
				cur.Warnings = append(cur.Warnings, l)
			}
		case strings.HasPrefix(l, "ORACLE-BEGIN"):
			if cur != nil {
				cur.HasDump = true
				cur.Dump = map[string][]string{}
			}
			inDump = true
			section = ""
		case strings.HasPrefix(l, "ORACLE-END"):
			inDump = false
		case strings.HasPrefix(l, "ORACLE-DONE"):
		case inDump && strings.HasPrefix(l, "## "):
			section = strings.TrimPrefix(l, "## ")
			if cur != nil {
				cur.Dump[section] = []string{}
			}
		case inDump && cur != nil && section != "":
			cur.Dump[section] = append(cur.Dump[section], l)
		}
	}
	return t, sc.Err()
}

// Diff is one difference between a kernel and a golvs transcript.
type Diff struct {
	Step int
	What string
}

func (d Diff) String() string { return fmt.Sprintf("step %d: %s", d.Step, d.What) }

// Compare reports every difference between a kernel transcript and a golvs
// transcript of the same scenario: ipvsadm output of each step; in dumps,
// service and real-server lines exactly, connection entries as a multiset
// with expiry countdowns within 2 s plus the time the guest spent on steps,
// and the Conns column of --stats where the dump follows a sleep of 2 s or
// more.
func Compare(kernel, golvs *Transcript) []Diff {
	var diffs []Diff
	add := func(step int, f string, a ...any) { diffs = append(diffs, Diff{step, fmt.Sprintf(f, a...)}) }
	if len(kernel.Steps) != len(golvs.Steps) {
		add(0, "kernel transcript has %d steps, golvs %d", len(kernel.Steps), len(golvs.Steps))
	}
	var first, slept float64
	for i := range kernel.Steps {
		k := &kernel.Steps[i]
		if i == 0 {
			first = k.Time
		}
		if i >= len(golvs.Steps) {
			break
		}
		g := &golvs.Steps[i]
		if k.Line != g.Line {
			add(k.N, "different scenario lines: kernel %q, golvs %q", k.Line, g.Line)
			continue
		}
		guest := k.Time - first - slept
		if guest < 0 {
			guest = 0
		}
		tol := 2 + guest
		afterSleep := i > 0 && sleepSecs(kernel.Steps[i-1].Line) >= 2
		compareOut(k, g, tol, afterSleep, add)
		if k.HasDump != g.HasDump {
			add(k.N, "dump present in kernel %v, golvs %v", k.HasDump, g.HasDump)
		} else if k.HasDump {
			compareDump(k, g, tol, afterSleep, add)
		}
		slept += sleepSecs(k.Line)
	}
	return diffs
}

func sleepSecs(line string) float64 {
	f := strings.Fields(line)
	if len(f) == 2 && f[0] == "sleep" {
		v, _ := strconv.ParseFloat(f[1], 64)
		return v
	}
	return 0
}

type addFunc func(step int, f string, a ...any)

func compareOut(k, g *Step, tol float64, afterSleep bool, add addFunc) {
	if strings.Contains(k.Line, "--stats") && strings.Contains(k.Line, "-L") {
		// Statistics are folded by the kernel's 2 s timer: as in dumps,
		// names exactly and Conns only after a sleep of 2 s or more.
		compareStats(k.N, k.Out, g.Out, afterSleep, add)
		return
	}
	if strings.Contains(k.Line, "--rate") {
		// Rates depend on the phase of the kernel's 2 s estimator timer
		// relative to the traffic: only the layout is compared.
		if len(k.Out) != len(g.Out) {
			add(k.N, "ipvsadm output has %d lines in the kernel, %d in golvs", len(k.Out), len(g.Out))
		}
		return
	}
	if strings.Contains(k.Line, "--nosort") {
		// The kernel dumps services in hash order seeded by a per-boot
		// address: compare the lines, not their order.
		compareSorted(k.N, k.Out, g.Out, add)
		return
	}
	if isConnListing(k.Out) {
		compareConns(k.N, "output", k.Out, g.Out, tol, add)
		return
	}
	n := max(len(k.Out), len(g.Out))
	for j := 0; j < n; j++ {
		kl, gl := lineAt(k.Out, j), lineAt(g.Out, j)
		if kl != gl {
			add(k.N, "output line %d: kernel %q, golvs %q", j+1, kl, gl)
		}
	}
}

func isConnListing(out []string) bool {
	return len(out) > 0 && (out[0] == "IPVS connection entries" || strings.HasPrefix(out[0], "Pro FromIP"))
}

func lineAt(l []string, i int) string {
	if i < len(l) {
		return l[i]
	}
	return "<none>"
}

func compareDump(k, g *Step, tol float64, afterSleep bool, add addFunc) {
	for _, sec := range []string{"ipvsadm -L -n", "ipvsadm -L -n -c", "/proc/net/ip_vs_conn", "ipvsadm -L -n --stats"} {
		kl, kok := k.Dump[sec]
		gl, gok := g.Dump[sec]
		if !kok {
			continue
		}
		if !gok {
			add(k.N, "dump section %q missing in golvs", sec)
			continue
		}
		switch sec {
		case "ipvsadm -L -n":
			n := max(len(kl), len(gl))
			for j := 0; j < n; j++ {
				if a, b := lineAt(kl, j), lineAt(gl, j); a != b {
					add(k.N, "%s line %d: kernel %q, golvs %q", sec, j+1, a, b)
				}
			}
		case "ipvsadm -L -n -c", "/proc/net/ip_vs_conn":
			compareConns(k.N, sec, kl, gl, tol, add)
		case "ipvsadm -L -n --stats":
			compareStats(k.N, kl, gl, afterSleep, add)
		}
	}
}

// connEntry is a connection line split into its identity and expiry.
type connEntry struct {
	key string
	exp float64
}

func parseConnLines(lines []string) (entries []connEntry, other []string) {
	for _, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) >= 6 && strings.Contains(f[1], ":"): // ipvsadm -c
			mm, ss, _ := strings.Cut(f[1], ":")
			m, err1 := strconv.Atoi(mm)
			s, err2 := strconv.Atoi(ss)
			if err1 != nil || err2 != nil {
				other = append(other, l)
				continue
			}
			key := strings.Join(append([]string{f[0]}, f[2:]...), " ")
			entries = append(entries, connEntry{key, float64(m*60 + s)})
		case len(f) >= 9 && len(f[1]) >= 8 && f[0] != "Pro": // /proc/net/ip_vs_conn
			e, err := strconv.Atoi(f[8])
			if err != nil {
				other = append(other, l)
				continue
			}
			key := strings.Join(append(append([]string{}, f[:8]...), f[9:]...), " ")
			entries = append(entries, connEntry{key, float64(e)})
		default:
			other = append(other, l)
		}
	}
	return
}

// compareConns compares connection listings as multisets: same entries,
// expiry countdowns within tol seconds.
func compareConns(step int, sec string, kl, gl []string, tol float64, add addFunc) {
	ke, ko := parseConnLines(kl)
	ge, gk := parseConnLines(gl)
	n := max(len(ko), len(gk))
	for j := 0; j < n; j++ {
		if a, b := lineAt(ko, j), lineAt(gk, j); a != b {
			add(step, "%s header line %d: kernel %q, golvs %q", sec, j+1, a, b)
		}
	}
	byKey := func(es []connEntry) map[string][]float64 {
		m := map[string][]float64{}
		for _, e := range es {
			m[e.key] = append(m[e.key], e.exp)
		}
		for _, v := range m {
			sort.Float64s(v)
		}
		return m
	}
	km, gm := byKey(ke), byKey(ge)
	keys := map[string]bool{}
	for k := range km {
		keys[k] = true
	}
	for k := range gm {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, key := range sorted {
		a, b := km[key], gm[key]
		if len(a) != len(b) {
			add(step, "%s: entry %q appears %d times in the kernel, %d in golvs", sec, key, len(a), len(b))
			continue
		}
		for i := range a {
			if math.Abs(a[i]-b[i]) > tol {
				add(step, "%s: entry %q expires in %.0f s in the kernel, %.0f s in golvs (tolerance %.1f s)", sec, key, a[i], b[i], tol)
			}
		}
	}
}

// compareStats compares the --stats listing: the service and real-server
// names line by line, and the Conns column when the dump follows a sleep of
// at least 2 s (the kernel folds statistics every 2 s).
func compareStats(step int, kl, gl []string, afterSleep bool, add addFunc) {
	n := max(len(kl), len(gl))
	for j := 0; j < n; j++ {
		a, b := lineAt(kl, j), lineAt(gl, j)
		fa, fb := strings.Fields(a), strings.Fields(b)
		if len(fa) < 6 || len(fb) < 6 || (fa[0] != "->" && fa[0] != "TCP" && fa[0] != "UDP" && fa[0] != "SCTP" && fa[0] != "FWM") {
			if a != b {
				add(step, "--stats line %d: kernel %q, golvs %q", j+1, a, b)
			}
			continue
		}
		ka, kb := fa[:len(fa)-5], fb[:len(fb)-5]
		if strings.Join(ka, " ") != strings.Join(kb, " ") {
			add(step, "--stats line %d: kernel %q, golvs %q", j+1, a, b)
			continue
		}
		if afterSleep && fa[len(fa)-5] != fb[len(fb)-5] {
			add(step, "--stats line %d (%s): Conns %s in the kernel, %s in golvs", j+1, strings.Join(ka, " "), fa[len(fa)-5], fb[len(fb)-5])
		}
	}
}

func compareSorted(step int, kl, gl []string, add addFunc) {
	a := append([]string(nil), kl...)
	b := append([]string(nil), gl...)
	sort.Strings(a)
	sort.Strings(b)
	n := max(len(a), len(b))
	for j := 0; j < n; j++ {
		if x, y := lineAt(a, j), lineAt(b, j); x != y {
			add(step, "output (any order) line %d: kernel %q, golvs %q", j+1, x, y)
		}
	}
}
