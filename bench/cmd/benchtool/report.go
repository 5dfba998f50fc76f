package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// A result is one measurement: round, target (direct, golvs, haproxy,
// nginx), metric name and value.
type result struct {
	round  int
	target string
	metric string
	value  float64
}

// parseResults reads tab-separated lines "round target metric value";
// blank lines and lines starting with # are skipped.
func parseResults(r io.Reader) ([]result, error) {
	var out []result
	sc := bufio.NewScanner(r)
	ln := 0
	for sc.Scan() {
		ln++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			return nil, fmt.Errorf("line %d: want 4 fields, got %d", ln, len(f))
		}
		round, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: round: %v", ln, err)
		}
		v, err := strconv.ParseFloat(f[3], 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: value: %v", ln, err)
		}
		out = append(out, result{round, f[1], f[2], v})
	}
	return out, sc.Err()
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// row is one figure of the table.
type row struct {
	label  string
	metric string
	// added: the value is the target's minus direct's in the same round
	// (latency the proxy adds); direct's column shows its absolute value.
	added bool
	// lowerBetter: the target is met when golvs <= HAProxy.
	lowerBetter bool
	// noVerdict: a figure that tells how, not how well (no target).
	noVerdict bool
	format    string
}

var rows = []row{
	{label: "New TCP connections/s (wrk, `Connection: close`)", metric: "cps", format: "%.0f"},
	{label: "Requests/s on kept-alive connections (wrk)", metric: "rps", format: "%.0f"},
	{label: "Relay throughput, Gbit/s (long streams)", metric: "gbps", format: "%.2f"},
	{label: "Added p50 latency, µs (kept-alive, one request at a time)", metric: "lat_ka_p50", added: true, lowerBetter: true, format: "%.1f"},
	{label: "Added p99 latency, µs (kept-alive, one request at a time)", metric: "lat_ka_p99", added: true, lowerBetter: true, format: "%.1f"},
	{label: "Added p50 latency, µs (new connection per request)", metric: "lat_cc_p50", added: true, lowerBetter: true, format: "%.1f"},
	{label: "Added p99 latency, µs (new connection per request)", metric: "lat_cc_p99", added: true, lowerBetter: true, format: "%.1f"},
}

// cpuRows are the proxy's CPU use (percent of its one core) during the
// load tests: how close to saturation each proxy ran.
var cpuRows = []row{
	{label: "Proxy CPU, % of its core, during the connections/s test", metric: "cpu_cps", noVerdict: true, format: "%.0f"},
	{label: "Proxy CPU, % of its core, during the kept-alive test", metric: "cpu_rps", noVerdict: true, format: "%.0f"},
	{label: "Proxy CPU, % of its core, during the throughput test", metric: "cpu_gbps", noVerdict: true, format: "%.0f"},
	{label: "Proxy CPU time per new connection, µs", metric: "cpu_us_per_conn", lowerBetter: true, format: "%.1f"},
	{label: "Proxy CPU time per kept-alive request, µs", metric: "cpu_us_per_req", lowerBetter: true, format: "%.2f"},
	{label: "Proxy CPU time per GB relayed, ms", metric: "cpu_ms_per_gb", lowerBetter: true, format: "%.1f"},
}

// derived are the CPU costs computed from each round's CPU use and rate:
// they hold even when the load generator, not the proxy, is the limit.
var derived = []struct {
	metric, cpu, rate string
	scale             float64 // cost = cpu% / 100 * scale / rate
}{
	{"cpu_us_per_conn", "cpu_cps", "cps", 1e6},
	{"cpu_us_per_req", "cpu_rps", "rps", 1e6},
	{"cpu_ms_per_gb", "cpu_gbps", "gbps", 8e3}, // rate in Gbit/s: GB/s = gbps/8
}

var targets = []string{"direct", "golvs", "haproxy", "nginx"}

var targetTitle = map[string]string{
	"direct":  "backend direct",
	"golvs":   "golvs",
	"haproxy": "HAProxy (tcp)",
	"nginx":   "nginx stream",
}

// table holds the values of one run: values[metric][target][round].
type table struct {
	values map[string]map[string]map[int]float64
	rounds []int
}

func newTable(rs []result) *table {
	t := &table{values: map[string]map[string]map[int]float64{}}
	seen := map[int]bool{}
	for _, r := range rs {
		m := t.values[r.metric]
		if m == nil {
			m = map[string]map[int]float64{}
			t.values[r.metric] = m
		}
		if m[r.target] == nil {
			m[r.target] = map[int]float64{}
		}
		m[r.target][r.round] = r.value
		if !seen[r.round] {
			seen[r.round] = true
			t.rounds = append(t.rounds, r.round)
		}
	}
	slices.Sort(t.rounds)
	for _, d := range derived {
		for target, byRound := range t.values[d.cpu] {
			for rd, cpu := range byRound {
				rate, ok := t.values[d.rate][target][rd]
				if !ok || rate <= 0 {
					continue
				}
				if t.values[d.metric] == nil {
					t.values[d.metric] = map[string]map[int]float64{}
				}
				if t.values[d.metric][target] == nil {
					t.values[d.metric][target] = map[int]float64{}
				}
				t.values[d.metric][target][rd] = cpu / 100 * d.scale / rate
			}
		}
	}
	return t
}

// series returns the per-round values of a row for a target: for an added
// row, the target's value minus direct's of the same round.
func (t *table) series(r row, target string) []float64 {
	var out []float64
	for _, rd := range t.rounds {
		v, ok := t.values[r.metric][target][rd]
		if !ok {
			continue
		}
		if r.added && target != "direct" {
			base, ok := t.values[r.metric]["direct"][rd]
			if !ok {
				continue
			}
			v -= base
		}
		out = append(out, v)
	}
	return out
}

func (t *table) median(r row, target string) float64 { return median(t.series(r, target)) }

func cell(format string, v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf(format, v)
}

// ratioCell is golvs/HAProxy and whether golvs is at or above HAProxy.
func ratioCell(r row, g, h float64) (string, string) {
	if math.IsNaN(g) || math.IsNaN(h) {
		return "–", "–"
	}
	met := g >= h
	if r.lowerBetter {
		met = g <= h
	}
	mark := "no"
	if met {
		mark = "yes"
	}
	if h == 0 || (r.added && h <= 0) {
		return "–", mark
	}
	return fmt.Sprintf("%.2f", g/h), mark
}

func (t *table) writeMain(w io.Writer, rs []row, withDirect bool) {
	fmt.Fprint(w, "| figure (median of rounds) |")
	cols := targets
	if !withDirect {
		cols = targets[1:]
	}
	for _, tg := range cols {
		fmt.Fprintf(w, " %s |", targetTitle[tg])
	}
	fmt.Fprintln(w, " golvs / HAProxy | golvs at or above HAProxy |")
	fmt.Fprint(w, "|---|")
	for range cols {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w, "---:|:---:|")
	for _, r := range rs {
		if _, ok := t.values[r.metric]; !ok {
			continue
		}
		fmt.Fprintf(w, "| %s |", r.label)
		for _, tg := range cols {
			v := t.median(r, tg)
			s := cell(r.format, v)
			if r.added && tg == "direct" && s != "–" {
				s = "(" + s + " absolute)"
			}
			fmt.Fprintf(w, " %s |", s)
		}
		ratio, mark := ratioCell(r, t.median(r, "golvs"), t.median(r, "haproxy"))
		if r.noVerdict {
			mark = "–"
		}
		fmt.Fprintf(w, " %s | %s |\n", ratio, mark)
	}
}

func (t *table) writeRounds(w io.Writer) {
	fmt.Fprint(w, "| measurement | target |")
	for _, rd := range t.rounds {
		fmt.Fprintf(w, " round %d |", rd)
	}
	fmt.Fprintln(w, " median |")
	fmt.Fprint(w, "|---|---|")
	for range t.rounds {
		fmt.Fprint(w, "---:|")
	}
	fmt.Fprintln(w, "---:|")
	var metrics []string
	isDerived := map[string]bool{}
	for _, d := range derived {
		isDerived[d.metric] = true
	}
	for m := range t.values {
		if !isDerived[m] {
			metrics = append(metrics, m)
		}
	}
	slices.Sort(metrics)
	for _, m := range metrics {
		for _, tg := range targets {
			vals, ok := t.values[m][tg]
			if !ok {
				continue
			}
			fmt.Fprintf(w, "| %s | %s |", m, tg)
			var all []float64
			for _, rd := range t.rounds {
				v, ok := vals[rd]
				if !ok {
					fmt.Fprint(w, " – |")
					continue
				}
				all = append(all, v)
				fmt.Fprintf(w, " %s |", strconv.FormatFloat(v, 'f', -1, 64))
			}
			fmt.Fprintf(w, " %s |\n", strconv.FormatFloat(median(all), 'f', -1, 64))
		}
	}
}

// report writes the markdown report of a results file: the figures, the
// proxies' CPU use, the errors seen and every round's raw values.
func report(args []string, w io.Writer) error {
	fs := newFlags("report")
	in := fs.String("in", "", "results file (round target metric value, tab-separated)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer f.Close()
	rs, err := parseResults(f)
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	if len(rs) == 0 {
		return fmt.Errorf("%s: no results", *in)
	}
	writeReport(w, newTable(rs))
	return nil
}

func writeReport(w io.Writer, t *table) {
	t.writeMain(w, rows, true)
	if _, ok := t.values["cpu_rps"]; ok {
		fmt.Fprintln(w)
		t.writeMain(w, cpuRows, false)
	}
	var errs []string
	for _, m := range []string{"cps_errors", "rps_errors"} {
		for _, tg := range targets {
			var sum float64
			for _, v := range t.values[m][tg] {
				sum += v
			}
			if sum > 0 {
				errs = append(errs, fmt.Sprintf("%s %s: %.0f", tg, strings.TrimSuffix(m, "_errors"), sum))
			}
		}
	}
	fmt.Fprintln(w)
	if len(errs) == 0 {
		fmt.Fprintln(w, "wrk reported no socket errors and no non-2xx responses.")
	} else {
		fmt.Fprintf(w, "wrk errors (socket errors + non-2xx, summed over rounds): %s.\n", strings.Join(errs, "; "))
	}
	var foreign []float64
	for m, byTarget := range t.values {
		if !strings.HasPrefix(m, "foreign_") {
			continue
		}
		for _, byRound := range byTarget {
			for _, v := range byRound {
				foreign = append(foreign, v)
			}
		}
	}
	if len(foreign) > 0 {
		fmt.Fprintf(w, "\nCPU used by the machine's other processes during the tests (foreign_*, %% of one core): median %.0f, max %.0f over %d tests.\n",
			median(foreign), slices.Max(foreign), len(foreign))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "<details><summary>Every round</summary>")
	fmt.Fprintln(w)
	t.writeRounds(w)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "</details>")
}
