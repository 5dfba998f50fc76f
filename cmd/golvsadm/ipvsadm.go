package main

import (
	"fmt"
	"io"
	"os"

	"github.com/golvs/golvs/control"
)

func socketPath() string { return control.DefaultSocket() }

// runIPVSAdm sends an ipvsadm command line to golvsd and prints what the
// daemon's ipvsadm printed, with its exit status.
func runIPVSAdm(args []string) int {
	stdin := ""
	for _, a := range args {
		if a == "-R" || a == "--restore" {
			b, err := io.ReadAll(os.Stdin)
			if err != nil {
				fmt.Fprintln(os.Stderr, "golvsadm: reading stdin:", err)
				return 2
			}
			stdin = string(b)
		}
	}
	cl := control.NewUnixClient(socketPath())
	res, err := cl.IPVSAdm(args, stdin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "golvsadm: cannot reach golvsd at %s: %v\n", socketPath(), err)
		return 2
	}
	os.Stdout.WriteString(res.Stdout)
	os.Stderr.WriteString(res.Stderr)
	return res.Status
}
