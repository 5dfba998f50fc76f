package ipvsadm

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/golvs/golvs/ipvs"
)

// Target is what ipvsadm commands act on; *ipvs.Director implements it.
type Target interface {
	AddService(cfg ipvs.ServiceConfig) error
	EditService(cfg ipvs.ServiceConfig) error
	DelService(k ipvs.ServiceKey) error
	Flush() error
	AddDest(k ipvs.ServiceKey, d ipvs.DestConfig) error
	EditDest(k ipvs.ServiceKey, d ipvs.DestConfig) error
	DelDest(k ipvs.ServiceKey, addr netip.Addr, port uint16) error
	Zero(k *ipvs.ServiceKey) error     // nil: all services
	SetTimeouts(t ipvs.Timeouts) error // a zero field leaves that timeout unchanged
	Timeouts() ipvs.Timeouts
	Services() []ipvs.ServiceInfo        // any order; you sort as ipvsadm does
	Conns(now ipvs.Time) []ipvs.ConnInfo // any order
}

// DaemonTarget is implemented by a Target that runs connection
// synchronisation daemons (--start-daemon, --stop-daemon, -L --daemon).
// StartDaemon returns ErrDaemonRunning (or a wrapped syscall.EEXIST) when
// that daemon runs already; StopDaemon returns ErrNoDaemon (ESRCH) when it
// does not run. Other errors are printed as libipvs prints their errno.
type DaemonTarget interface {
	StartDaemon(d DaemonConfig) error
	// StopDaemon receives the state and syncid given (McastIfn is empty).
	StopDaemon(d DaemonConfig) error
	// Daemons returns the running daemons.
	Daemons() []DaemonConfig
}

// SizeTarget is implemented by a Target that reports its connection table
// size for the version line (ipvsadm shows the kernel's, 4096 by default).
type SizeTarget interface {
	ConnTableSize() int
}

// Run runs one ipvsadm invocation (args without the program name) against
// t, as ipvsadm 1.31 does, with the built-in service names, and returns
// the exit status.
func Run(t Target, args []string, stdin io.Reader, stdout, stderr io.Writer, now ipvs.Time) int {
	return Config{}.Run(t, args, stdin, stdout, stderr, now)
}

// Run is [Run] with this configuration.
func (cfg Config) Run(t Target, args []string, stdin io.Reader, stdout, stderr io.Writer, now ipvs.Time) int {
	out := &stdioBuffer{w: stdout}
	r := &runner{
		p:      parser{db: cfg.db()},
		names:  cfg.PortNames,
		t:      t,
		stdin:  stdin,
		stdout: out,
		stderr: stderr,
		now:    now,
	}
	st, _ := r.processOptions(args, false)
	out.flush()
	return exitStatus(st)
}

// stdioBuffer imitates glibc's fully buffered stdout on a pipe (a 4096-byte
// buffer, libio/fileops.c: _IO_new_file_xsputn), while stderr is
// unbuffered: when both go to one pipe, as in the oracle's transcripts,
// error lines come before the listing text still in the buffer.
type stdioBuffer struct {
	w   io.Writer
	buf []byte
}

const stdioBufSize = 4096

func (b *stdioBuffer) Write(p []byte) (int, error) {
	n := len(p)
	space := stdioBufSize - len(b.buf)
	if len(p) <= space {
		b.buf = append(b.buf, p...)
		return n, nil
	}
	b.buf = append(b.buf, p[:space]...)
	p = p[space:]
	b.flush()
	if direct := len(p) - len(p)%stdioBufSize; direct > 0 {
		b.w.Write(p[:direct])
		p = p[direct:]
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

func (b *stdioBuffer) flush() {
	if len(b.buf) > 0 {
		b.w.Write(b.buf)
		b.buf = b.buf[:0]
	}
}

// exitStatus converts a C int returned from main to a process status.
func exitStatus(st int) int { return st & 0xff }

type runner struct {
	p      parser
	names  ServiceDB
	t      Target
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	now    ipvs.Time
}

// processOptions transcribes ipvsadm.c: process_options from the kernel
// calls on. It returns main's result and whether the process ends there
// (exit() in the C code).
func (r *runner) processOptions(args []string, readingStdin bool) (int, bool) {
	cmd, perr := r.p.parse(args, readingStdin)
	if perr != nil {
		io.WriteString(r.stderr, perr.Text)
		if perr.fatal {
			return perr.Status, true
		}
		return -1, false
	}
	switch cmd.Kind {
	case CmdHelp:
		io.WriteString(r.stdout, usageText)
		return 0, true
	case CmdVersion:
		io.WriteString(r.stdout, VersionString+"\n")
		return 0, true
	case CmdList:
		return r.list(cmd)
	case CmdRestore:
		if readingStdin {
			e := tryHelp()
			io.WriteString(r.stderr, e.Text)
			return e.Status, true
		}
		return r.restore()
	case CmdSave:
		opt := cmd.List
		opt.PortNames = r.names
		FormatList(r.stdout, r.t.Services(), opt)
		return 0, false
	}
	if err := r.execute(cmd); err != nil {
		fmt.Fprintf(r.stderr, "%s\n", ErrorText(cmd.Kind, err))
		return -1, false
	}
	return 0, false
}

// Execute performs a parsed command that changes t (not -L, -S, -R, -h,
// -v) and returns the Target's error.
func Execute(t Target, cmd *Command) error {
	r := &runner{t: t}
	return r.execute(cmd)
}

func (r *runner) execute(cmd *Command) error {
	t := r.t
	k := cmd.Service.ServiceKey
	switch cmd.Kind {
	case CmdFlush:
		return t.Flush()
	case CmdAdd:
		return t.AddService(cmd.Service)
	case CmdEdit:
		return t.EditService(cmd.Service)
	case CmdDel:
		return t.DelService(k)
	case CmdZero:
		if cmd.zeroAll() {
			return t.Zero(nil)
		}
		return t.Zero(&k)
	case CmdAddDest:
		return t.AddDest(k, cmd.Dest)
	case CmdEditDest:
		return t.EditDest(k, cmd.Dest)
	case CmdDelDest:
		return t.DelDest(k, cmd.Dest.Addr, cmd.Dest.Port)
	case CmdTimeout:
		return t.SetTimeouts(cmd.Timeouts)
	case CmdStartDaemon:
		if d, ok := t.(DaemonTarget); ok {
			return d.StartDaemon(cmd.Daemon)
		}
		return ErrDaemonUnsupported
	case CmdStopDaemon:
		if d, ok := t.(DaemonTarget); ok {
			return d.StopDaemon(cmd.Daemon)
		}
		return ErrDaemonUnsupported
	}
	return fmt.Errorf("ipvsadm: command %v cannot be executed", cmd.Kind)
}

// FindService returns the service of svcs that ipvsadm's -L would show for
// key (the kernel's lookup: by family and fwmark, or by family, protocol,
// address and port).
func FindService(svcs []ipvs.ServiceInfo, key ipvs.ServiceKey) (ipvs.ServiceInfo, bool) {
	kaf := familyOf(key.Family, key.Addr)
	ka := pack16(kaf, key.Addr)
	for _, s := range svcs {
		saf := familyOf(s.Family, s.Addr)
		if saf != kaf || s.FWMark != key.FWMark {
			continue
		}
		if key.FWMark != 0 {
			return s, true
		}
		if s.Protocol == key.Protocol && s.Port == key.Port && pack16(saf, s.Addr) == ka {
			return s, true
		}
	}
	return ipvs.ServiceInfo{}, false
}

func (r *runner) list(cmd *Command) (int, bool) {
	opt := cmd.List
	opt.PortNames = r.names
	if st, ok := r.t.(SizeTarget); ok {
		opt.Size = st.ConnTableSize()
	}
	json := cmd.Output == OutputJSON
	switch {
	case cmd.Options&OptConnection != 0:
		conns := r.t.Conns(r.now)
		if json {
			FormatConnsJSON(r.stdout, conns)
		} else {
			formatConns(r.stdout, conns, opt.PersistentConn, opt.Numeric, opt.db())
		}
	case cmd.Options&OptService != 0:
		s, ok := FindService(r.t.Services(), cmd.Service.ServiceKey)
		if !ok {
			io.WriteString(r.stderr, "No such service\n")
			return ExitList, true
		}
		if json {
			FormatListJSON(r.stdout, []ipvs.ServiceInfo{s}, opt)
		} else {
			FormatList(r.stdout, []ipvs.ServiceInfo{s}, opt)
		}
	case cmd.Options&OptTimeout != 0:
		if json {
			FormatTimeoutsJSON(r.stdout, r.t.Timeouts())
		} else {
			FormatTimeouts(r.stdout, r.t.Timeouts())
		}
	case cmd.Options&OptDaemon != 0:
		var ds []DaemonConfig
		if d, ok := r.t.(DaemonTarget); ok {
			ds = d.Daemons()
		}
		if json {
			FormatDaemonsJSON(r.stdout, ds)
		} else {
			FormatDaemons(r.stdout, ds)
		}
	default:
		if json {
			FormatListJSON(r.stdout, r.t.Services(), opt)
		} else {
			FormatList(r.stdout, r.t.Services(), opt)
		}
	}
	return 0, false
}

// restore transcribes ipvsadm.c: restore_table with config_stream.c:
// config_stream_read: one command a line, words separated by blanks, tabs
// or carriage returns, every word "ipvsadm" dropped, no comments. A
// command line that ipvsadm refuses ends the run; a refused operation is
// reported and the next line read. The result is the last command's.
func (r *runner) restore() (int, bool) {
	in := r.stdin
	if in == nil {
		in = strings.NewReader("")
	}
	br := bufio.NewReader(in)
	result := 0
	for {
		words, ok := readConfigLine(br)
		if !ok {
			break
		}
		if len(words) > 0 {
			st, exit := r.processOptions(words, true)
			if exit {
				return st, true
			}
			result = st
		}
	}
	return result, false
}

const maxLineLength = 4096 // config_stream.h: MAX_LINE_LENGTH

func isConfigBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// readConfigLine transcribes config_stream_read: it returns the words of
// one line, or false at the end of the input. Quirks kept: a last line
// without a newline is used unless it ends in blanks, words longer than
// 4096 bytes are split, and a NUL byte ends a word's text.
func readConfigLine(br *bufio.Reader) ([]string, bool) {
	var words []string
	ntoken := 0
	for {
		c, err := br.ReadByte()
		if err != nil {
			// fscanf returns EOF
			if ntoken == 0 {
				return nil, false
			}
			return words, true
		}
		if isConfigBlank(c) {
			// status 0: skip blanks up to a newline or a word
			for {
				if c == '\n' {
					return words, true
				}
				c, err = br.ReadByte()
				if err != nil {
					return nil, false
				}
				if !isConfigBlank(c) {
					br.UnreadByte()
					break
				}
			}
			continue
		}
		tok := []byte{c}
		for len(tok) < maxLineLength {
			c, err = br.ReadByte()
			if err != nil {
				break
			}
			if isConfigBlank(c) {
				br.UnreadByte()
				break
			}
			tok = append(tok, c)
		}
		// %1[ \t\n\r]: one blank after the word
		var tail byte
		if c2, err := br.ReadByte(); err == nil {
			if isConfigBlank(c2) {
				tail = c2
			} else {
				br.UnreadByte()
			}
		}
		if w := cString(string(tok)); w != program {
			ntoken++
			words = append(words, w)
		}
		if tail == '\n' {
			return words, true
		}
	}
}
