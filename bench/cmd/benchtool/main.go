// Command benchtool holds the small load tools of the proxy benchmark
// (bench/run.sh): a streaming server and client for relay throughput, a
// latency probe, a port waiter and the report writer.
//
// Every tool is bounded in time and count and stops by itself; the network
// tools only talk to loopback addresses (127.0.0.0/8 or ::1).
//
//	benchtool stream-server -listen 127.0.0.1:P [-lifetime 2h]
//	benchtool stream-client -addr 127.0.0.1:P [-conns 4] [-duration 10s]
//	benchtool lat -addr 127.0.0.1:P [-mode keepalive|connect] [-duration 5s] [-n 200000]
//	benchtool wait -addr 127.0.0.1:P[,127.0.0.1:Q...] [-timeout 10s]
//	benchtool report -in results.tsv [-meta meta.md]
package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "stream-server":
		err = streamServer(args)
	case "stream-client":
		err = streamClient(args)
	case "lat":
		err = latency(args)
	case "wait":
		err = waitPorts(args)
	case "report":
		err = report(args, os.Stdout)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchtool %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchtool stream-server|stream-client|lat|wait|report [flags]")
	os.Exit(2)
}

// loopback checks that addr is a loopback address and port: the benchmark
// never sends traffic anywhere else.
func loopback(addr string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return ap, err
	}
	if !ap.Addr().Unmap().IsLoopback() {
		return ap, fmt.Errorf("%v is not a loopback address", addr)
	}
	return ap, nil
}

// waitPorts waits until every address accepts a TCP connection.
func waitPorts(args []string) error {
	fs := newFlags("wait")
	addrs := fs.String("addr", "", "comma-separated loopback addresses")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	deadline := time.Now().Add(*timeout)
	for _, a := range strings.Split(*addrs, ",") {
		if _, err := loopback(a); err != nil {
			return err
		}
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not accepting after %v: %w", a, *timeout, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}
