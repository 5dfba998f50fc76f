package check

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Command runs a program (MISC_CHECK): exit status 0 is healthy, 1 is a
// failure; 2..255 is a failure too, unless Dynamic (misc_dynamic), where it
// is healthy with weight status-2. A program still running at the deadline
// is killed with its whole process group, and the attempt fails.
type Command struct {
	// Argv is the program and its arguments, run without a shell
	// (keepalived splits misc_path into words the same way; see
	// [SplitCommand]).
	Argv    []string
	Dynamic bool
	// Env is added to the checker's environment.
	Env []string
}

func (p *Command) String() string { return "misc " + strings.Join(p.Argv, " ") }

// Probe runs the program to completion or to the deadline.
func (p *Command) Probe(ctx context.Context) Result {
	err := runCommand(ctx, p.Argv, p.Env)
	if err == nil {
		return Result{}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Exited() && ctx.Err() == nil {
		st := ee.ExitCode()
		if p.Dynamic && st >= 2 && st <= 255 {
			return Result{Weight: int32(st - 2), WeightSet: true}
		}
		return Result{Err: fmt.Errorf("exited with status %d", st)}
	}
	if ctx.Err() != nil {
		return Result{Err: fmt.Errorf("timed out: %w", ctx.Err())}
	}
	return Result{Err: err}
}

// runCommand runs argv with its standard streams on /dev/null, in a process
// group of its own that is killed when ctx ends. It returns when the
// program has exited.
func runCommand(ctx context.Context, argv []string, env []string) error {
	if len(argv) == 0 {
		return errors.New("empty command")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	setProcessGroup(cmd)
	// Standard streams are /dev/null, so no copying goroutine waits for
	// grandchildren; WaitDelay is a second line of defence.
	cmd.WaitDelay = time.Second
	return cmd.Run()
}

// SplitCommand splits a command line into words as keepalived reads a
// script (misc_path, notify_up, quorum_up): words are separated by blanks;
// single quotes keep everything up to the next single quote, double quotes
// keep everything up to the next double quote except that a backslash
// escapes the next character; a backslash outside quotes escapes the next
// character. No shell runs: no variables, globbing or redirection.
func SplitCommand(s string) ([]string, error) {
	var (
		words []string
		cur   strings.Builder
		in    bool // a word is open
	)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case ch == '\\':
			if i+1 >= len(s) {
				return nil, fmt.Errorf("command %q ends with a backslash", s)
			}
			i++
			cur.WriteByte(s[i])
			in = true
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("command %q has an unterminated single quote", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			in = true
		case ch == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("command %q has an unterminated double quote", s)
			}
			in = true
		default:
			cur.WriteByte(ch)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	if len(words) == 0 {
		return nil, errors.New("empty command")
	}
	return words, nil
}
