package ipvs

import "errors"

// Errors of configuration operations, one per kernel errno that ipvsadm
// distinguishes (libipvs: ipvs_strerror). The ipvsadm package maps them to
// ipvsadm's exact messages.
var (
	// ErrServiceExists: add of a service that exists (EEXIST).
	ErrServiceExists = errors.New("service already exists")
	// ErrNoService: edit, delete or zero of a missing service (ESRCH).
	ErrNoService = errors.New("no such service")
	// ErrServiceNotDefined: a dest operation on a missing service (ESRCH).
	ErrServiceNotDefined = errors.New("service not defined")
	// ErrDestExists: add of a dest that exists (EEXIST).
	ErrDestExists = errors.New("destination already exists")
	// ErrNoDest: edit or delete of a missing dest (ENOENT).
	ErrNoDest = errors.New("no such destination")
	// ErrInvalid: a value the kernel rejects with EINVAL.
	ErrInvalid = errors.New("invalid operation")
	// ErrRange: a value the kernel rejects with ERANGE (negative weight,
	// lower threshold above the upper one).
	ErrRange = errors.New("numerical result out of range")
	// ErrAFNotSupported: mixed address families outside tunneling (EAFNOSUPPORT).
	ErrAFNotSupported = errors.New("operation not supported with specified address family")
)
