package ipvsadm

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/golvs/golvs/ipvs"
)

// A transcript recorded on the oracle (the Debian kernel and Debian's
// ipvsadm 1.31 under emulation) with testdata/oracle/guest-init.sh: for
// each command its arguments (@@A), its standard input in hex (@@IX), its
// standard output (@@O) and error (@@E) lines, and its exit status (@@RC).
type oracleStep struct {
	line   int
	args   []string
	stdin  []byte
	stdout string
	stderr string
	rc     int
}

func readTranscript(t *testing.T, path string) []oracleStep {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []oracleStep
	var cur *oracleStep
	var out, errb strings.Builder
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	body := func(l, prefix string) string {
		s := strings.TrimPrefix(l, prefix)
		return strings.TrimSuffix(s, "|")
	}
	for sc.Scan() {
		n++
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "@@CMD "):
			steps = append(steps, oracleStep{line: n})
			cur = &steps[len(steps)-1]
			out.Reset()
			errb.Reset()
		case strings.HasPrefix(l, "@@A|"):
			cur.args = append(cur.args, body(l, "@@A|"))
		case strings.HasPrefix(l, "@@IX|"):
			b, err := hex.DecodeString(body(l, "@@IX|"))
			if err != nil {
				t.Fatalf("%s:%d: %v", path, n, err)
			}
			cur.stdin = b
		case strings.HasPrefix(l, "@@O|"):
			out.WriteString(body(l, "@@O|") + "\n")
		case strings.HasPrefix(l, "@@E|"):
			errb.WriteString(body(l, "@@E|") + "\n")
		case strings.HasPrefix(l, "@@RC "):
			cur.rc, _ = strconv.Atoi(strings.TrimPrefix(l, "@@RC "))
			cur.stdout, cur.stderr = out.String(), errb.String()
		}
	}
	return steps
}

// TestOracleTranscripts replays every recorded ipvsadm invocation against
// the fake target and compares output, error output and exit status byte
// for byte. (The oracle's guest has no /etc/services: NoServices.)
func TestOracleTranscripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/oracle/*.out")
	if len(files) == 0 {
		t.Fatal("no transcripts")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			fake := newFake()
			cfg := Config{Services: NoServices}
			for _, st := range readTranscript(t, file) {
				if len(st.args) == 0 || st.args[0] != "ipvsadm" {
					continue
				}
				if hasArg(st.args, "--nosort") && !hasArg(st.args, "-c") && st.rc == 0 {
					adoptOrder(t, fake, st)
				}
				var o, e bytes.Buffer
				rc := cfg.Run(fake, st.args[1:], bytes.NewReader(st.stdin), &o, &e, 0)
				if st.rc == ExitSegfault && st.stderr == "Segmentation fault\n" {
					// the guest's shell reports the crash; ipvsadm prints nothing
					st.stderr = ""
				}
				if o.String() != st.stdout || e.String() != st.stderr || rc != st.rc {
					t.Errorf("%s:%d: ipvsadm %q\n--- got rc %d, stdout:\n%s--- stderr:\n%s--- want rc %d, stdout:\n%s--- stderr:\n%s",
						file, st.line, st.args[1:], rc, o.String(), e.String(), st.rc, st.stdout, st.stderr)
				}
			}
		})
	}
}

func hasArg(args []string, a string) bool {
	for _, x := range args {
		if x == a {
			return true
		}
	}
	return false
}

// adoptOrder puts the fake's services in the order of a recorded --nosort
// listing: the kernel's hash order depends on a kernel pointer, and the
// sorted listings depend on it (the comparison is not a total order).
func adoptOrder(t *testing.T, fake *fakeTarget, st oracleStep) {
	cmd, err := Config{Services: NoServices}.Parse(st.args[1:])
	if err != nil {
		t.Fatalf("%d: %v", st.line, err)
	}
	opt := cmd.List
	opt.PortNames = nil
	opt.NoVersion = true
	line := func(s *ipvs.ServiceInfo) string {
		var b bytes.Buffer
		one := *s
		one.Dests = nil
		FormatList(&b, []ipvs.ServiceInfo{one}, opt)
		ls := strings.Split(b.String(), "\n")
		return ls[len(ls)-2]
	}
	var order []*ipvs.ServiceInfo
	used := map[*ipvs.ServiceInfo]bool{}
	for _, l := range strings.Split(st.stdout, "\n") {
		for _, s := range fake.svcs {
			if !used[s] && line(s) == l {
				used[s] = true
				order = append(order, s)
				break
			}
		}
	}
	if len(order) != len(fake.svcs) {
		t.Fatalf("line %d: cannot match the --nosort listing to the fake's %d services", st.line, len(fake.svcs))
	}
	fake.svcs = order
}
