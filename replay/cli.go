package replay

import (
	"fmt"
	"io"
	"os"
)

// PlayFile plays the scenario in path and writes the transcript to w.
func PlayFile(path string, w io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return Play(f, w)
}

// CompareFiles compares a kernel transcript with a golvs transcript and
// writes every difference to w; it reports the number of differences.
func CompareFiles(kernelPath, golvsPath string, w io.Writer) (int, error) {
	read := func(p string) (*Transcript, error) {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return ParseTranscript(f)
	}
	k, err := read(kernelPath)
	if err != nil {
		return 0, fmt.Errorf("kernel transcript: %w", err)
	}
	g, err := read(golvsPath)
	if err != nil {
		return 0, fmt.Errorf("golvs transcript: %w", err)
	}
	diffs := Compare(k, g)
	for _, d := range diffs {
		fmt.Fprintln(w, d)
	}
	return len(diffs), nil
}
