// Command golvsprof runs golvs's data plane (package proxy, configured
// through package control as golvsd does) with a CPU profile, for the
// benchmark (bench/run.sh): golvsd serves no pprof endpoint.
//
//	golvsprof -cpuprofile cpu.pprof [-memprofile mem.pprof] -service 127.0.0.1:18480=127.0.0.1:18080 [-service ...] [-max 10m]
//
// Each -service is a virtual TCP service (scheduler rr) with one masquerading
// real server, as `golvsadm -A -t VIP -s rr; golvsadm -a -t VIP -r RS -m`.
// The profile covers the time from the start until SIGINT or SIGTERM, or
// until -max has passed; then the program writes it and exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/golvs/golvs/control"
	"github.com/golvs/golvs/dataplane/proxy"
	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
)

type services []string

func (s *services) String() string     { return strings.Join(*s, ",") }
func (s *services) Set(v string) error { *s = append(*s, v); return nil }

type plane struct{ p *proxy.Proxy }

func (pl plane) Sync(svcs []ipvs.ServiceInfo) error { return pl.p.Sync(proxy.ServicesOf(svcs)) }

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "golvsprof:", err)
		os.Exit(1)
	}
}

func run() error {
	var svcs services
	flag.Var(&svcs, "service", "VIP=REALSERVER, loopback addresses with ports (repeatable)")
	out := flag.String("cpuprofile", "cpu.pprof", "CPU profile to write")
	maxDur := flag.Duration("max", 10*time.Minute, "bound on the profiled time")
	memOut := flag.String("memprofile", "", "allocation profile to write at the end (every allocation sampled per 4 KiB)")
	flag.Parse()
	if *memOut != "" {
		runtime.MemProfileRate = 4096
	}
	if len(svcs) == 0 {
		return fmt.Errorf("no -service")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := ipvs.NewDirector(&ipvs.Config{Schedulers: sched.New})
	px := proxy.New(d, proxy.Options{Clock: proxy.SystemClock})
	defer px.Close()
	ctl := control.New(d, proxy.SystemClock, plane{px}, log)
	for _, s := range svcs {
		vip, rs, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("-service %q: want VIP=REALSERVER", s)
		}
		for _, a := range []string{vip, rs} {
			ap, err := netip.ParseAddrPort(a)
			if err != nil {
				return fmt.Errorf("-service %q: %v", s, err)
			}
			if !ap.Addr().Unmap().IsLoopback() {
				return fmt.Errorf("-service %q: %v is not a loopback address", s, a)
			}
		}
		for _, args := range [][]string{{"-A", "-t", vip, "-s", "rr"}, {"-a", "-t", vip, "-r", rs, "-m"}} {
			if _, e, st := ctl.IPVSAdm(args, ""); st != 0 {
				return fmt.Errorf("ipvsadm %s: %s", strings.Join(args, " "), strings.TrimSpace(e))
			}
		}
	}
	if err := px.Sync(proxy.ServicesOf(d.Services())); err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *maxDur)
	defer cancel()
	fmt.Println("golvsprof: serving", svcs.String())
	<-ctx.Done()
	pprof.StopCPUProfile()
	if *memOut != "" {
		mf, err := os.Create(*memOut)
		if err != nil {
			return err
		}
		if err := pprof.Lookup("allocs").WriteTo(mf, 0); err != nil {
			mf.Close()
			return err
		}
		if err := mf.Close(); err != nil {
			return err
		}
	}
	return f.Close()
}
