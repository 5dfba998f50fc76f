package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/golvs/golvs/check"
	"github.com/golvs/golvs/control"
)

// health prints golvsd's health-check state: per service the quorum and
// sorry server, per real server its state, since when, the weight given to
// the director and the last error. -o json prints the raw status.
func health(args []string) int {
	asJSON := len(args) == 2 && (args[0] == "-o" || args[0] == "--output") && args[1] == "json"
	if len(args) != 0 && !asJSON {
		fmt.Fprintln(os.Stderr, "usage: golvsadm health [-o json]")
		return 2
	}
	cl := control.NewUnixClient(socketPath())
	res, err := cl.HTTP.Get(cl.Base + "/v1/health")
	if err != nil {
		fmt.Fprintf(os.Stderr, "golvsadm health: cannot reach golvsd at %s: %v\n", socketPath(), err)
		return 2
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "golvsadm health: %s", body)
		return 1
	}
	if asJSON {
		os.Stdout.Write(body)
		return 0
	}
	var st check.Status
	if err := json.Unmarshal(body, &st); err != nil {
		fmt.Fprintln(os.Stderr, "golvsadm health:", err)
		return 1
	}
	for _, s := range st.Services {
		q := "quorum up"
		if !s.QuorumUp {
			q = "quorum DOWN"
		}
		fmt.Printf("%s  %s (%d/%d, hysteresis %d)", s.Service, q, s.AliveWeight, s.Quorum, s.Hysteresis)
		if s.SorryServer != "" {
			fmt.Printf("  sorry %s active=%v", s.SorryServer, s.SorryActive)
		}
		fmt.Println()
		for _, r := range s.Servers {
			w := fmt.Sprint(r.DirectorWeight)
			if r.DirectorWeight < 0 {
				w = "-"
			}
			fmt.Printf("  -> %-28s %-5s since %s  weight %-6s %s", r.Server, r.State, r.Since.Format(time.RFC3339), w, r.Check)
			if r.LastError != "" {
				fmt.Printf("  last error: %s", r.LastError)
			}
			fmt.Println()
		}
	}
	return 0
}
