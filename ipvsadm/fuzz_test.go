package ipvsadm

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics and returns either a Command or an *Error
// with one of ipvsadm's statuses; running the same line (and feeding it to
// -R) never panics either. The input is the argument list separated by
// NUL bytes (which no argument can contain). Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add("-A\x00-t\x0010.0.0.1:80\x00-s\x00rr")
	f.Add("-L\x00-n\x00--stats")
	f.Fuzz(func(t *testing.T, in string) {
		var args []string
		if in != "" {
			args = strings.Split(in, "\x00")
		}
		cmd, err := Parse(args)
		if (cmd == nil) == (err == nil) {
			t.Fatalf("Parse(%q) = %v, %v", args, cmd, err)
		}
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q): error of type %T", args, err)
			}
			switch pe.Status {
			case ExitSyntax, ExitKernel:
				if !strings.HasSuffix(pe.Text, "\n") {
					t.Fatalf("Parse(%q): text %q", args, pe.Text)
				}
			case ExitSegfault:
			default:
				t.Fatalf("Parse(%q): status %d", args, pe.Status)
			}
		} else {
			if cmd.Kind < CmdAdd || cmd.Kind > CmdVersion {
				t.Fatalf("Parse(%q): kind %d", args, cmd.Kind)
			}
			cmd2, err2 := Parse(args)
			if err2 != nil || cmd2.Kind != cmd.Kind || cmd2.Service != cmd.Service || cmd2.Dest != cmd.Dest {
				t.Fatalf("Parse(%q) is not deterministic", args)
			}
		}
		fake := newFake()
		var o, e bytes.Buffer
		stdin := strings.ReplaceAll(in, "\x00", " ") + "\n" + strings.ReplaceAll(in, "\x00", "\n")
		rc := Run(fake, args, strings.NewReader(stdin), &o, &e, 0)
		if rc < 0 || rc > 255 {
			t.Fatalf("Run(%q) = %d", args, rc)
		}
		Run(fake, []string{"-R"}, strings.NewReader(stdin), &o, &e, 0)
	})
}
