//go:build !unix

package check

import "os/exec"

// setProcessGroup: without process groups only the program itself is
// killed when the context ends (exec.CommandContext's default).
func setProcessGroup(*exec.Cmd) {}
