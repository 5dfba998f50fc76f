package config

import (
	"errors"
	"fmt"
)

// ErrInvalid is wrapped by every *Error, for errors.Is.
var ErrInvalid = errors.New("invalid configuration")

// Error is a configuration error at a position of the source. It renders
// as "config: FILE: line 12: services[1].servers[0].weight: -3 is negative";
// the file and line are left out when not known.
type Error struct {
	// File is the source's name, "" for a reader.
	File string
	// Line is the 1-based source line, 0 when not known.
	Line int
	// Field is the path of the offending field, "" for the whole document.
	Field string
	// Msg says what is wrong, lower case, without a final period.
	Msg string
}

func (e *Error) Error() string {
	s := "config: "
	if e.File != "" {
		s += e.File + ": "
	}
	if e.Line > 0 {
		s += fmt.Sprintf("line %d: ", e.Line)
	}
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Msg
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

func errAt(line int, field, format string, args ...any) *Error {
	return &Error{Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// join returns the path of a field inside path.
func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }
