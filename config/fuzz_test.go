package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
)

// FuzzLoad: Load never panics; an error comes with a nil config and is an
// *Error; an accepted configuration survives Marshal and Load unchanged and
// applies to a new director without any error (validation is complete).
// Seeds: testdata/*.yaml here and testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load(bytes.NewReader(data))
		if err != nil {
			var e *Error
			if c != nil || !errors.As(err, &e) {
				t.Fatalf("Load error %v (%T) with config %v", err, err, c)
			}
			return
		}
		roundTrip(t, c)
		st, err := c.Desired()
		if err != nil {
			t.Fatalf("Desired of a loaded config: %v", err)
		}
		d := ipvs.NewDirector(&ipvs.Config{Schedulers: sched.New})
		d.SetSettings(c.IPVSSettings())
		if err := d.SetTimeouts(c.IPVSTimeouts()); err != nil {
			t.Fatalf("SetTimeouts: %v", err)
		}
		if err := Apply(d, Diff(d.Services(), st)); err != nil {
			t.Fatalf("Apply of a loaded config: %v\n%s", err, data)
		}
		if again := Diff(d.Services(), st); len(again) != 0 {
			t.Fatalf("applied config still differs: %v\n%s", again, data)
		}
	})
}
