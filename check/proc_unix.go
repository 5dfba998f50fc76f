//go:build unix

package check

import (
	"os/exec"
	"syscall"
)

// setProcessGroup puts the command in a process group of its own and makes
// the context's end kill the whole group, so that what a script started
// (a sleep, a curl) dies with it.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
