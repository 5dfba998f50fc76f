// Command scengen prints random scenarios in the kernel oracle's language
// (replay.Generate), one per seed: scengen SEED [SEED...].
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/golvs/golvs/replay"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: scengen SEED [SEED...]")
		os.Exit(2)
	}
	for _, a := range os.Args[1:] {
		seed, err := strconv.ParseUint(a, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "scengen: bad seed %q\n", a)
			os.Exit(2)
		}
		fmt.Print(replay.Generate(seed))
	}
}
