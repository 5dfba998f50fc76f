// Command golvsd is the golvs director daemon: it holds the IPVS state,
// runs the user-space data plane and serves golvsadm on a Unix socket.
//
// Without -config it runs its embedded demo: three backends on loopback
// behind a persistent round-robin service on 127.0.0.1:8080.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/golvs/golvs/control"
	"github.com/golvs/golvs/dataplane/proxy"
	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "golvsd:", err)
		os.Exit(1)
	}
}

type proxyPlane struct{ p *proxy.Proxy }

func (pp proxyPlane) Sync(svcs []ipvs.ServiceInfo) error { return pp.p.Sync(proxy.ServicesOf(svcs)) }

func run(args []string) error {
	fs := flag.NewFlagSet("golvsd", flag.ContinueOnError)
	socket := fs.String("socket", control.DefaultSocket(), "control socket (mode 0600)")
	demoAddr := fs.String("demo-listen", "127.0.0.1:8080", "virtual service address of the embedded demo")
	drain := fs.Duration("drain", 10*time.Second, "bound on draining flows at SIGTERM")
	runDemo := fs.Bool("demo", true, "run the embedded demo (three loopback backends behind -demo-listen)")
	busyPoll := fs.Duration("busy-poll", 50*time.Microsecond,
		"how long an idle event loop polls before it sleeps while events come that close together (Linux; 0 or less: never)")
	obs := addObservabilityFlags(fs) // -http, -events: http.go
	cf := addConfigFlags(fs)         // -config, -check-config, -import-keepalived: config.go
	if err := fs.Parse(args); err != nil {
		return err
	}
	if done, err := cf.standalone(); done {
		return err
	}
	cfg, err := cf.load()
	if err != nil {
		return err
	}
	if cfg != nil {
		*runDemo = false
		if cfg.Control.Socket != "" && !flagSet(fs, "socket") {
			*socket = cfg.Control.Socket
		}
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	d := ipvs.NewDirector(&ipvs.Config{Schedulers: sched.New})
	if *busyPoll <= 0 {
		*busyPoll = -1 // proxy.Options: a negative value never polls, 0 is the default
	}
	px := proxy.New(d, proxy.Options{Clock: proxy.SystemClock, BusyPoll: *busyPoll,
		Logf: func(f string, a ...any) { log.Warn(fmt.Sprintf(f, a...)) }})
	ctl := control.New(d, proxy.SystemClock, proxyPlane{px}, log)
	health := &healthRunner{obs: obs, log: log}
	defer health.Stop()
	if cfg != nil {
		if err := applyConfig(ctl, cfg); err != nil {
			return err
		}
		ctl.SetReload(reloader(cf, ctl, health, log))
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if cfg != nil {
		reloadOnHUP(ctx, reloader(cf, ctl, health, log))
		if err := health.restart(ctx, ctl, cfg); err != nil {
			return err
		}
	}

	if err := os.MkdirAll(filepath.Dir(*socket), 0o755); err != nil {
		return err
	}
	ln, err := control.ListenUnix(*socket)
	if err != nil {
		return err
	}
	api := http.NewServeMux()
	api.Handle("GET /v1/health", health)
	api.Handle("/", ctl.Handler(""))
	srv := &http.Server{Handler: api, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer os.Remove(*socket)
	log.Info("control socket", "path", *socket)
	if err := startTCPAPI(ctx, cfg, ctl, log); err != nil {
		return err
	}

	// Observability (http.go): event log, web view and /metrics.
	stopObs, err := obs.start(ctx, ctl, px, log)
	if err != nil {
		return err
	}
	defer stopObs()

	if *runDemo {
		demo, err := startDemo(ctx, ctl, *demoAddr, log)
		if err != nil {
			return err
		}
		defer demo.Close()
	}

	<-ctx.Done()
	log.Info("shutting down", "drain", *drain)
	sctx, cancel := context.WithTimeout(context.Background(), *drain)
	defer cancel()
	srv.Shutdown(sctx)
	if err := px.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// demo holds the embedded demo's backends.
type demo struct{ lns []net.Listener }

func (d *demo) Close() {
	for _, l := range d.lns {
		l.Close()
	}
}

// startDemo starts three loopback backends that answer with their name, a
// persistent rr service in front of them, and shows a few clients being
// served: each client address keeps its backend.
func startDemo(ctx context.Context, ctl *control.Controller, vip string, log *slog.Logger) (*demo, error) {
	dm := &demo{}
	var rs []string
	for i := 1; i <= 3; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			dm.Close()
			return nil, err
		}
		dm.lns = append(dm.lns, ln)
		rs = append(rs, ln.Addr().String())
		name := fmt.Sprintf("backend-%d (%s)", i, ln.Addr())
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					fmt.Fprintf(c, "hello from %s, you are %s\n", name, c.RemoteAddr())
				}()
			}
		}()
	}
	cmds := [][]string{{"-A", "-t", vip, "-s", "rr", "-p", "60"}}
	for _, r := range rs {
		cmds = append(cmds, []string{"-a", "-t", vip, "-r", r, "-m"})
	}
	for _, c := range cmds {
		if _, e, st := ctl.IPVSAdm(c, ""); st != 0 {
			dm.Close()
			return nil, fmt.Errorf("demo: ipvsadm %s: %s", strings.Join(c, " "), strings.TrimSpace(e))
		}
	}
	log.Info("demo service", "vip", vip, "scheduler", "rr", "persistent", "60s", "backends", strings.Join(rs, " "))
	fmt.Printf("golvs demo: persistent service %s -> %s\n", vip, strings.Join(rs, ", "))
	for _, client := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.2", "127.0.0.4", "127.0.0.3", "127.0.0.2"} {
		line, err := demoGet(ctx, client, vip)
		if err != nil {
			fmt.Printf("  client %-10s -> error: %v\n", client, err)
			continue
		}
		fmt.Printf("  client %-10s -> %s", client, line)
	}
	o, _, _ := ctl.IPVSAdm([]string{"-L", "-n"}, "")
	fmt.Print(o)
	o, _, _ = ctl.IPVSAdm([]string{"-L", "-n", "-c"}, "")
	fmt.Print(o)
	fmt.Println("golvs demo: running; try `go run ./cmd/golvsadm -L -n` or `nc 127.0.0.1 8080`; Ctrl-C stops")
	return dm, nil
}

func demoGet(ctx context.Context, client, vip string) (string, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(client)}, Timeout: 3 * time.Second}
	c, err := d.DialContext(ctx, "tcp", vip)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	if n == 0 {
		return "", err
	}
	return string(buf[:n]), nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
