package ipvsadm

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestKernelTranscripts replays the replay package's kernel transcripts
// (recorded on the oracle with its own run.sh) whose steps are all ipvsadm
// commands: the fake stands in for the kernel, and each command's
// ORACLE-OUT lines must match. ORACLE-OUT is ipvsadm's standard error and
// output through one pipe; ipvsadm's standard output is block-buffered,
// so its error lines come first.
func TestKernelTranscripts(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "replay", "testdata", "kernel", "*.out"))
	if len(files) == 0 {
		t.Fatal("no kernel transcripts in replay/testdata/kernel")
	}
	n := 0
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		type step struct {
			args []string
			out  string
		}
		var steps []step
		pure := true
		for _, l := range strings.Split(string(b), "\n") {
			switch {
			case strings.HasPrefix(l, "ORACLE-STEP "):
				cmd := l[strings.Index(l, ": ")+2:]
				w := strings.Fields(cmd)
				if len(w) == 0 || w[0] != "ipvsadm" || strings.ContainsAny(cmd, "'\"\\<|") ||
					slices.Contains(w, "-R") || slices.Contains(w, "--restore") ||
					slices.Contains(w, "--start-daemon") {
					// -R reads the rest of the scenario file in the guest
					// (replay scenario 120), which this test does not feed;
					// sync daemons depend on the guest's interfaces (121).
					pure = false
				}
				steps = append(steps, step{args: w})
			case strings.HasPrefix(l, "ORACLE-BEGIN"):
				pure = false
			case strings.HasPrefix(l, "ORACLE-OUT "), l == "ORACLE-OUT":
				steps[len(steps)-1].out += strings.TrimPrefix(strings.TrimPrefix(l, "ORACLE-OUT"), " ") + "\n"
			}
		}
		// 093 lists services whose comparison is not a total order: the
		// result depends on the kernel's hash order, which the transcript
		// does not record (TestSortQuirk covers it).
		if !pure || len(steps) == 0 || strings.Contains(file, "093-") {
			continue
		}
		n++
		t.Run(filepath.Base(file), func(t *testing.T) {
			fake := newFake()
			for i, st := range steps {
				var o, e bytes.Buffer
				Config{Services: NoServices}.Run(fake, st.args[1:], nil, &o, &e, 0)
				got, want := e.String()+o.String(), st.out
				if slices.Contains(st.args, "--nosort") {
					// The kernel's dump order follows a hash seeded per
					// boot; the fake's is its own: compare the lines.
					got, want = sortedLines(got), sortedLines(want)
				}
				if got != want {
					t.Errorf("step %d: %q:\n--- got:\n%s--- want:\n%s", i+1, st.args, got, st.out)
				}
			}
		})
	}
	t.Logf("%d transcripts", n)
}

func sortedLines(s string) string {
	l := strings.Split(s, "\n")
	sort.Strings(l)
	return strings.Join(l, "\n")
}
