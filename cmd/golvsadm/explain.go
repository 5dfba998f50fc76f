package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/golvs/golvs/control"
	"github.com/golvs/golvs/ipvs"
)

// explain asks golvsd what it would do with a new connection of a client
// to a virtual service, and prints the decision with each rule applied.
func explain(args []string) int {
	usage := func(msg string) int {
		fmt.Fprintf(os.Stderr, "golvsadm explain: %s\nusage: golvsadm explain -t|-u|--sctp-service VIP:PORT CLIENT[:PORT] [--mark N] [-o json]\n", msg)
		return 2
	}
	var req control.ExplainRequest
	asJSON := false
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() (string, bool) {
			if i+1 >= len(args) {
				return "", false
			}
			i++
			return args[i], true
		}
		switch a {
		case "-t", "--tcp-service", "-u", "--udp-service", "--sctp-service":
			v, ok := next()
			if !ok {
				return usage(a + " needs VIP:PORT")
			}
			req.Virtual = v
			req.Protocol = map[string]string{"-t": "tcp", "--tcp-service": "tcp", "-u": "udp", "--udp-service": "udp", "--sctp-service": "sctp"}[a]
		case "--mark", "-f":
			v, ok := next()
			m, err := strconv.ParseUint(v, 10, 32)
			if !ok || err != nil {
				return usage("--mark needs a number")
			}
			req.Mark = uint32(m)
		case "-o", "--output":
			v, _ := next()
			if v != "json" {
				return usage("only -o json is supported")
			}
			asJSON = true
		default:
			rest = append(rest, a)
		}
	}
	if req.Virtual == "" || len(rest) != 1 {
		return usage("need a virtual service and one client address")
	}
	req.Client = rest[0]
	if !strings.Contains(req.Client, ":") || strings.HasSuffix(req.Client, "]") {
		req.Client += ":40000"
	} else if strings.Count(req.Client, ":") > 1 && !strings.HasPrefix(req.Client, "[") {
		req.Client = "[" + req.Client + "]:40000"
	}
	ex, err := control.NewUnixClient(socketPath()).Explain(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "golvsadm explain:", err)
		return 1
	}
	if asJSON {
		e := json.NewEncoder(os.Stdout)
		e.SetIndent("", "  ")
		e.Encode(ex)
		return 0
	}
	printExplanation(ex)
	return 0
}

func printExplanation(ex *ipvs.Explanation) {
	fmt.Printf("verdict: %s (%s)\n", ex.Verdict, ex.Outcome)
	for i, s := range ex.Steps {
		fmt.Printf("%2d. %-22s %s\n", i+1, s.Func, s.Text)
	}
	if ex.Template != nil {
		fmt.Printf("template key: %s", ex.Template)
		if ex.TemplateFound {
			fmt.Printf(" -> %s, %s left", ex.TemplateDest, ex.TemplateExpires.Truncate(time.Second))
		}
		fmt.Println()
	}
	if ex.ConnDest.IsValid() {
		fmt.Printf("connection: %s -> %s -> %s\n", ex.ConnClient, ex.ConnVirtual, ex.ConnDest)
	}
}
