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
	"strings"
	"syscall"
	"time"

	"github.com/golvs/golvs/check"
	"github.com/golvs/golvs/config"
	"github.com/golvs/golvs/config/keepalived"
	"github.com/golvs/golvs/control"
	"github.com/golvs/golvs/ipvs"
)

// configFlags are the configuration-file flags.
type configFlags struct {
	path       *string
	check      *bool
	keepalived *string
}

func addConfigFlags(fs *flag.FlagSet) *configFlags {
	return &configFlags{
		path:       fs.String("config", "", "YAML configuration file (services, real servers, settings); reloaded on SIGHUP"),
		check:      fs.Bool("check-config", false, "validate -config (or -import-keepalived) and exit"),
		keepalived: fs.String("import-keepalived", "", "print keepalived.conf's virtual_server blocks as a golvs YAML configuration and exit"),
	}
}

// load reads the configuration file named by the flags: a YAML file, or a
// keepalived.conf to import. It returns nil when none was given.
func (cf *configFlags) load() (*config.Config, error) {
	switch {
	case *cf.keepalived != "":
		c, warns, err := keepalived.ParseFile(*cf.keepalived)
		if err != nil {
			return nil, err
		}
		for _, w := range warns {
			fmt.Fprintln(os.Stderr, "golvsd: warning:", w)
		}
		return c, nil
	case *cf.path != "":
		return config.LoadFile(*cf.path)
	}
	return nil, nil
}

// standalone handles the flags that do their job and exit (-check-config,
// -import-keepalived). It reports whether the daemon should stop.
func (cf *configFlags) standalone() (bool, error) {
	if !*cf.check && *cf.keepalived == "" {
		return false, nil
	}
	c, err := cf.load()
	if err != nil {
		return true, err
	}
	if c == nil {
		return true, errors.New("-check-config needs -config FILE or -import-keepalived FILE")
	}
	if _, err := c.Desired(); err != nil {
		return true, err
	}
	if *cf.check {
		fmt.Println("configuration OK")
		return true, nil
	}
	b, err := c.Marshal()
	if err != nil {
		return true, err
	}
	os.Stdout.Write(b)
	return true, nil
}

// applyConfig makes the director match c: settings, timeouts, then the
// difference between its services and c's. A service that did not change
// is not touched, so its established flows and scheduler state survive.
func applyConfig(ctl *control.Controller, c *config.Config) error {
	want, err := c.Desired()
	if err != nil {
		return err
	}
	return ctl.Apply(func(d *ipvs.Director, _ ipvs.Time) error {
		s := c.IPVSSettings()
		d.SetSettings(s)
		if err := d.SetTimeouts(c.IPVSTimeouts()); err != nil {
			return err
		}
		return config.Apply(d, config.Diff(d.Services(), want))
	})
}

// reloader reloads the configuration file; a bad file leaves the running
// state unchanged.
func reloader(cf *configFlags, ctl *control.Controller, health *healthRunner, log *slog.Logger) func() error {
	return func() error {
		c, err := cf.load()
		if err != nil {
			log.Error("reload refused", "err", err)
			return err
		}
		if c == nil {
			return errors.New("no configuration file to reload (golvsd runs without -config)")
		}
		if _, err := check.FromConfig(c); err != nil {
			log.Error("reload refused", "err", err)
			return err
		}
		if err := applyConfig(ctl, c); err != nil {
			log.Error("reload failed", "err", err)
			return err
		}
		// The checker is rebuilt from the new file; the context is the
		// daemon's, kept by the runner from the first start.
		if err := health.restart(health.ctx(), ctl, c); err != nil {
			log.Error("health checks not restarted", "err", err)
			return err
		}
		log.Info("configuration reloaded", "file", *cf.path)
		return nil
	}
}

// reloadOnHUP calls reload at every SIGHUP until ctx ends.
func reloadOnHUP(ctx context.Context, reload func() error) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				reload()
			}
		}
	}()
}

// startTCPAPI serves the control API on the configuration's TCP address,
// requiring the bearer token read from its token file.
func startTCPAPI(ctx context.Context, c *config.Config, ctl *control.Controller, log *slog.Logger) error {
	if c == nil || !c.Control.Listen.IsValid() {
		return nil
	}
	b, err := os.ReadFile(c.Control.TokenFile)
	if err != nil {
		return fmt.Errorf("control.token_file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if len(token) < 16 {
		return fmt.Errorf("control.token_file %s: token shorter than 16 characters", c.Control.TokenFile)
	}
	ln, err := net.Listen("tcp", c.Control.Listen.String())
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: ctl.Handler(token), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.Info("control API", "listen", c.Control.Listen.String())
	return nil
}
