package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{7}, 7},
	} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestReport(t *testing.T) {
	in := `# round target metric value
1	direct	rps	100
1	golvs	rps	60
1	haproxy	rps	50
1	direct	lat_ka_p50	20
1	golvs	lat_ka_p50	30
1	haproxy	lat_ka_p50	25
2	golvs	rps	70
2	haproxy	rps	80
2	direct	lat_ka_p50	22
2	golvs	lat_ka_p50	34
2	haproxy	lat_ka_p50	28
3	golvs	rps	80
3	haproxy	rps	90
3	golvs	cps_errors	2
`
	rs, err := parseResults(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	writeReport(&b, newTable(rs))
	out := b.String()
	for _, want := range []string{
		// rps medians: golvs 70, HAProxy 80.
		"| Requests/s on kept-alive connections (wrk) | 100 | 70 | 80 | – | 0.88 | no |",
		// added p50: golvs 10 and 12 (median 11), HAProxy 5 and 6 (5.5).
		"| Added p50 latency, µs (kept-alive, one request at a time) | (21.0 absolute) | 11.0 | 5.5 | – | 2.00 | no |",
		"golvs cps: 2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestParseResultsErrors(t *testing.T) {
	for _, in := range []string{"1 golvs rps", "x golvs rps 1", "1 golvs rps y"} {
		if _, err := parseResults(strings.NewReader(in)); err == nil {
			t.Errorf("parseResults(%q): no error", in)
		}
	}
}

func TestLoopback(t *testing.T) {
	if _, err := loopback("127.0.0.1:80"); err != nil {
		t.Error(err)
	}
	if _, err := loopback("10.0.0.1:80"); err == nil {
		t.Error("10.0.0.1 accepted")
	}
}

func TestDerivedCPU(t *testing.T) {
	in := "1\tgolvs\trps\t50000\n1\tgolvs\tcpu_rps\t80\n1\tgolvs\tgbps\t16\n1\tgolvs\tcpu_gbps\t50\n"
	rs, err := parseResults(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	tb := newTable(rs)
	// 0.8 s of CPU per second for 50000 requests: 16 µs each.
	if got := tb.values["cpu_us_per_req"]["golvs"][1]; got != 16 {
		t.Errorf("cpu_us_per_req = %v, want 16", got)
	}
	// 0.5 s of CPU per 2 GB: 250 ms per GB.
	if got := tb.values["cpu_ms_per_gb"]["golvs"][1]; got != 250 {
		t.Errorf("cpu_ms_per_gb = %v, want 250", got)
	}
}
