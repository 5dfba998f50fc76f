// Command golvsadm administers golvs as ipvsadm administers the kernel's
// IPVS (same flags, same listings), plus golvs's own subcommands:
//
//	golvsadm replay SCENARIO         play an oracle scenario through golvs's core
//	golvsadm compare KERNEL GOLVS    compare a kernel transcript with golvs's
//	golvsadm explain -t|-u|--sctp-service VIP:PORT CLIENT[:PORT] [--mark N] [-o json]
//	                                 why golvsd sends this client where it does
//	golvsadm reload                  make golvsd reload its configuration file
//	golvsadm health [-o json]        health-check state and history
package main

import (
	"fmt"
	"os"

	"github.com/golvs/golvs/control"
	"github.com/golvs/golvs/replay"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	if len(args) > 0 {
		switch args[0] {
		case "replay":
			if len(args) != 2 {
				fmt.Fprintln(os.Stderr, "usage: golvsadm replay SCENARIO")
				return 2
			}
			if err := replay.PlayFile(args[1], os.Stdout); err != nil {
				fmt.Fprintln(os.Stderr, "golvsadm replay:", err)
				return 1
			}
			return 0
		case "health":
			return health(args[1:])
		case "explain":
			return explain(args[1:])
		case "reload":
			if err := control.NewUnixClient(socketPath()).Reload(); err != nil {
				fmt.Fprintln(os.Stderr, "golvsadm reload:", err)
				return 1
			}
			fmt.Println("golvsd: configuration reloaded")
			return 0
		case "compare":
			if len(args) != 3 {
				fmt.Fprintln(os.Stderr, "usage: golvsadm compare KERNEL.out GOLVS.out")
				return 2
			}
			n, err := replay.CompareFiles(args[1], args[2], os.Stdout)
			if err != nil {
				fmt.Fprintln(os.Stderr, "golvsadm compare:", err)
				return 2
			}
			if n > 0 {
				fmt.Fprintf(os.Stderr, "%d difference(s)\n", n)
				return 1
			}
			return 0
		}
	}
	return runIPVSAdm(args)
}
