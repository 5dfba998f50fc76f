package ipvsadm

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/golvs/golvs/ipvs"
)

// Exit statuses of ipvsadm.
const (
	// ExitSyntax is the status of ipvsadm's fail(2, ...): a command line
	// it refuses before talking to the kernel.
	ExitSyntax = 2
	// ExitKernel is the status of a refused operation (the C code returns
	// -1 from main), of popt's errors and of "Try `ipvsadm -h' ...".
	ExitKernel = 255
	// ExitList is the status of a listing that cannot be made (-L of a
	// service that does not exist: "No such service").
	ExitList = 1
	// ExitSegfault is the status a shell reports for ipvsadm 1.31 crashing
	// on a -b argument without any flag name ("-b ,").
	ExitSegfault = 139
)

// Error is a command line that ipvsadm refuses, with its exact text and
// exit status.
type Error struct {
	// Text is what ipvsadm writes to stderr, newlines included (it is
	// empty for a crash).
	Text string
	// Status is the process exit status.
	Status int
	// fatal errors end the process (fail(), exit()); the others only end
	// the command (inside -R the next line is still read).
	fatal bool
}

func (e *Error) Error() string {
	if e.Text == "" {
		return fmt.Sprintf("ipvsadm: exit status %d", e.Status)
	}
	return strings.TrimRight(e.Text, "\n")
}

// fail is ipvsadm.c: fail(): the message and a newline on stderr, exit.
func fail(status int, format string, args ...any) *Error {
	return &Error{Text: fmt.Sprintf(format, args...) + "\n", Status: status, fatal: true}
}

const program = "ipvsadm"

// tryHelp is ipvsadm.c: tryhelp_exit(argv[0], -1).
func tryHelp() *Error {
	return &Error{
		Text:   fmt.Sprintf("Try `%s -h' or '%s --help' for more information.\n", program, program),
		Status: ExitKernel,
		fatal:  true,
	}
}

// Errors a sync daemon implementation ([DaemonTarget]) returns; Run prints
// them as libipvs does.
var (
	// ErrDaemonRunning: start of a daemon already running (EEXIST).
	ErrDaemonRunning = errors.New("daemon has already run")
	// ErrNoDaemon: stop of a daemon that is not running (ESRCH).
	ErrNoDaemon = errors.New("no daemon is running")
	// ErrDaemonUnsupported is printed for --start-daemon and --stop-daemon
	// when the Target does not implement DaemonTarget.
	ErrDaemonUnsupported = errors.New("sync daemon not supported by this target")
)

// libipvs operations, for ipvs_strerror's table.
type libOp int

const (
	opNone libOp = iota
	opAddService
	opUpdateService
	opDelService
	opZeroService
	opAddDest
	opUpdateDest
	opDelDest
	opStartDaemon
	opStopDaemon
	opGetServices
	opGetDests
	opGetService
	opFlush
	opSetTimeout
)

// errnoOf maps the core's errors (and any syscall.Errno) to the errno the
// kernel would have returned.
func errnoOf(err error) (syscall.Errno, bool) {
	switch {
	case errors.Is(err, ipvs.ErrServiceExists):
		return syscall.EEXIST, true
	case errors.Is(err, ipvs.ErrNoService), errors.Is(err, ipvs.ErrServiceNotDefined):
		return syscall.ESRCH, true
	case errors.Is(err, ipvs.ErrDestExists):
		return syscall.EEXIST, true
	case errors.Is(err, ipvs.ErrNoDest):
		return syscall.ENOENT, true
	case errors.Is(err, ipvs.ErrSchedulerNotFound):
		return syscall.ENOENT, true
	case errors.Is(err, ipvs.ErrInvalid):
		return syscall.EINVAL, true
	case errors.Is(err, ipvs.ErrRange):
		return syscall.ERANGE, true
	case errors.Is(err, ipvs.ErrAFNotSupported):
		return syscall.EAFNOSUPPORT, true
	case errors.Is(err, ErrDaemonRunning):
		return syscall.EEXIST, true
	case errors.Is(err, ErrNoDaemon):
		return syscall.ESRCH, true
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		return en, true
	}
	return 0, false
}

// glibcStrerror holds glibc's texts for the errnos a configuration
// operation can plausibly return (Go's own texts are in lower case).
var glibcStrerror = map[syscall.Errno]string{
	syscall.EPERM:        "Operation not permitted",
	syscall.ENOENT:       "No such file or directory",
	syscall.ESRCH:        "No such process",
	syscall.EINTR:        "Interrupted system call",
	syscall.EIO:          "Input/output error",
	syscall.E2BIG:        "Argument list too long",
	syscall.EAGAIN:       "Resource temporarily unavailable",
	syscall.ENOMEM:       "Cannot allocate memory",
	syscall.EACCES:       "Permission denied",
	syscall.EBUSY:        "Device or resource busy",
	syscall.EEXIST:       "File exists",
	syscall.ENODEV:       "No such device",
	syscall.EINVAL:       "Invalid argument",
	syscall.ENFILE:       "Too many open files in system",
	syscall.ENOSPC:       "No space left on device",
	syscall.ERANGE:       "Numerical result out of range",
	syscall.ENOSYS:       "Function not implemented",
	syscall.EMSGSIZE:     "Message too long",
	syscall.ENOPROTOOPT:  "Protocol not available",
	syscall.EOPNOTSUPP:   "Operation not supported",
	syscall.EAFNOSUPPORT: "Address family not supported by protocol",
	syscall.EADDRINUSE:   "Address already in use",
	syscall.ENOBUFS:      "No buffer space available",
	syscall.ETIMEDOUT:    "Connection timed out",
}

// ipvsStrerror transcribes libipvs.c: ipvs_strerror: a text specific to
// the operation and errno, a generic one for the errno, or strerror.
func ipvsStrerror(op libOp, err error) string {
	if errors.Is(err, ErrDaemonUnsupported) {
		return ErrDaemonUnsupported.Error()
	}
	en, ok := errnoOf(err)
	if !ok {
		return err.Error()
	}
	table := []struct {
		op  libOp
		err syscall.Errno
		msg string
	}{
		{opAddService, syscall.EEXIST, "Service already exists"},
		{opAddService, syscall.ENOENT, "Scheduler or persistence engine not found"},
		{opUpdateService, syscall.ESRCH, "No such service"},
		{opUpdateService, syscall.ENOENT, "Scheduler or persistence engine not found"},
		{opDelService, syscall.ESRCH, "No such service"},
		{opZeroService, syscall.ESRCH, "No such service"},
		{opAddDest, syscall.ESRCH, "Service not defined"},
		{opAddDest, syscall.EEXIST, "Destination already exists"},
		{opUpdateDest, syscall.ESRCH, "Service not defined"},
		{opUpdateDest, syscall.ENOENT, "No such destination"},
		{opDelDest, syscall.ESRCH, "Service not defined"},
		{opDelDest, syscall.ENOENT, "No such destination"},
		{opStartDaemon, syscall.EEXIST, "Daemon has already run"},
		{opStopDaemon, syscall.ESRCH, "No daemon is running"},
		{opGetServices, syscall.ESRCH, "No such service"},
		{opGetDests, syscall.ESRCH, "No such service"},
		{opGetService, syscall.ESRCH, "No such service"},
		{opNone, syscall.EPERM, "Permission denied (you must be root)"},
		{opNone, syscall.EINVAL, "Invalid operation.  Possibly wrong module version, address not unicast, ..."},
		{opNone, syscall.ENOPROTOOPT, "Protocol not available"},
		{opNone, syscall.ENOMEM, "Memory allocation problem"},
		{opNone, syscall.EOPNOTSUPP, "Operation not supported with IPv6"},
		{opNone, syscall.EAFNOSUPPORT, "Operation not supported with specified address family"},
		{opNone, syscall.EMSGSIZE, "Module is wrong version"},
	}
	for _, e := range table {
		if (e.op == opNone || e.op == op) && e.err == en {
			return e.msg
		}
	}
	if s, ok := glibcStrerror[en]; ok {
		return s
	}
	return fmt.Sprintf("Unknown error %d", int(en))
}

// ErrorText returns the text ipvsadm prints for err, the result of the
// operation named by the command kind (for -a, "Service not defined" where
// -E says "No such service").
func ErrorText(kind CommandKind, err error) string {
	return ipvsStrerror(opOf(kind), err)
}

func opOf(kind CommandKind) libOp {
	switch kind {
	case CmdAdd:
		return opAddService
	case CmdEdit:
		return opUpdateService
	case CmdDel:
		return opDelService
	case CmdZero:
		return opZeroService
	case CmdAddDest:
		return opAddDest
	case CmdEditDest:
		return opUpdateDest
	case CmdDelDest:
		return opDelDest
	case CmdStartDaemon:
		return opStartDaemon
	case CmdStopDaemon:
		return opStopDaemon
	case CmdFlush:
		return opFlush
	case CmdTimeout:
		return opSetTimeout
	}
	return opNone
}
