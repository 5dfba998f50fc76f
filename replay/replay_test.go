package replay

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golvs/*.out with golvs's transcripts (kernel transcripts are never touched)")

// TestKernelTranscripts replays every scenario of testdata/scenarios through
// golvs and compares the result with the transcript recorded from the
// kernel (testdata/kernel, recorded by scripts/record-oracle.sh).
func TestKernelTranscripts(t *testing.T) {
	scens, err := filepath.Glob("testdata/scenarios/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(scens) == 0 {
		t.Fatal("no scenarios in testdata/scenarios")
	}
	for _, sc := range scens {
		name := strings.TrimSuffix(filepath.Base(sc), ".txt")
		t.Run(name, func(t *testing.T) {
			kpath := filepath.Join("testdata/kernel", name+".out")
			kb, err := os.ReadFile(kpath)
			if err != nil {
				t.Fatalf("no kernel transcript for %s: %v", name, err)
			}
			src, err := os.ReadFile(sc)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := Play(bytes.NewReader(src), &out); err != nil {
				t.Fatalf("play: %v", err)
			}
			if *update {
				os.MkdirAll("testdata/golvs", 0o755)
				os.WriteFile(filepath.Join("testdata/golvs", name+".out"), out.Bytes(), 0o644)
			}
			kt, err := ParseTranscript(bytes.NewReader(kb))
			if err != nil {
				t.Fatal(err)
			}
			gt, err := ParseTranscript(&out)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range Compare(kt, gt) {
				t.Error(d)
			}
		})
	}
}

// TestCompareDetectsChange checks that a transcript with one line changed
// is reported.
func TestCompareDetectsChange(t *testing.T) {
	kb, err := os.ReadFile("testdata/kernel/002-persist-rr-normal-port.out")
	if err != nil {
		t.Fatalf("kernel transcript missing: %v", err)
	}
	kt, _ := ParseTranscript(bytes.NewReader(kb))
	changes := []struct{ from, to string }{
		{"Masq    1      4", "Masq    1      3"},
		{"SYN_RECV", "ESTABLISHED"},
		{"10.8.0.3:80\n", "10.8.0.2:80\n"},
	}
	for _, c := range changes {
		if !bytes.Contains(kb, []byte(c.from)) {
			continue
		}
		mod := bytes.Replace(kb, []byte(c.from), []byte(c.to), 1)
		mt, _ := ParseTranscript(bytes.NewReader(mod))
		if d := Compare(kt, mt); len(d) == 0 {
			t.Errorf("changing %q to %q went unnoticed", c.from, c.to)
		}
	}
	if d := Compare(kt, kt); len(d) != 0 {
		t.Errorf("a transcript differs from itself: %v", d)
	}
}

// TestGeneratedScenariosPlay plays random scenarios (replay.Generate, the
// ones scripts/oracle-fuzz.sh checks against the kernel) through golvs:
// every line is understood and the transcript parses, whatever the mix.
func TestGeneratedScenariosPlay(t *testing.T) {
	for seed := uint64(0); seed < 300; seed++ {
		sc := Generate(seed)
		if sc != Generate(seed) {
			t.Fatalf("seed %d: Generate is not deterministic", seed)
		}
		var out bytes.Buffer
		if err := Play(strings.NewReader(sc), &out); err != nil {
			t.Fatalf("seed %d: play: %v\n%s", seed, err, sc)
		}
		if strings.Contains(out.String(), "ORACLE-WARN") {
			t.Fatalf("seed %d: %s", seed, out.String())
		}
		tr, err := ParseTranscript(&out)
		if err != nil {
			t.Fatalf("seed %d: transcript: %v", seed, err)
		}
		if d := Compare(tr, tr); len(d) != 0 {
			t.Fatalf("seed %d: a transcript differs from itself: %v", seed, d)
		}
	}
}
