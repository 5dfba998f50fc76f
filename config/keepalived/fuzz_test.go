package keepalived

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzKeepalived: Parse never panics; an error comes alone and is an
// *Error; an import is a configuration that the YAML loader reads back
// unchanged and that applies to a director without error. Seeds:
// testdata/*.conf and testdata/fuzz/FuzzKeepalived.
func FuzzKeepalived(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.conf")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, warns, err := Parse(bytes.NewReader(data))
		if err != nil {
			var e *Error
			if c != nil || warns != nil || !errors.As(err, &e) {
				t.Fatalf("Parse error %v (%T) with config %v, warnings %v", err, err, c, warns)
			}
			return
		}
		checkImported(t, c)
	})
}
