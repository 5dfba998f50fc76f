package main

import (
	"fmt"
	"os"
)

// runIPVSAdm sends an ipvsadm command line to golvsd.
func runIPVSAdm(args []string) int {
	fmt.Fprintln(os.Stderr, "golvsadm: golvsd control socket not reachable")
	return 2
}
