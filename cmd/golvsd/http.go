package main

// Observability wiring: the web view and /metrics on -http, and the
// structured event log. main.go calls addObservabilityFlags before parsing
// the flags and observability.start once the controller exists.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/golvs/golvs/control"
	"github.com/golvs/golvs/dataplane/proxy"
	"github.com/golvs/golvs/metrics"
	"github.com/golvs/golvs/web"
)

type observability struct {
	httpAddr *string
	events   *time.Duration
	health   lateHealth
}

// lateHealth is a health source set after the web view started (the health
// checker, *check.Checker, is a metrics.HealthSource); until then it
// reports nothing.
type lateHealth struct {
	src atomic.Pointer[metrics.HealthSource]
}

func (h *lateHealth) Health() map[metrics.RealServer]metrics.Health {
	if p := h.src.Load(); p != nil {
		return (*p).Health()
	}
	return nil
}

// setHealth makes the web view, /metrics and the event log show h's
// real-server health.
func (o *observability) setHealth(h metrics.HealthSource) { o.health.src.Store(&h) }

func addObservabilityFlags(fs *flag.FlagSet) *observability {
	return &observability{
		httpAddr: fs.String("http", "", "serve the web view, its read-only JSON API and /metrics on this address (empty: off)"),
		events:   fs.Duration("events", 2*time.Second, "poll interval of the event log (service and real-server changes, weights, template expiry); 0: off"),
	}
}

// proxyCounters adapts the proxy's counters for the metrics.
func proxyCounters(px *proxy.Proxy) metrics.DataPlaneSource {
	return metrics.DataPlaneFunc(func() metrics.DataPlaneCounters {
		c := px.Counters()
		return metrics.DataPlaneCounters{
			Accepted: c.Accepted, Forwarded: c.Forwarded, Rejected: c.Rejected, DialErrors: c.DialErrors,
			Expired: c.Expired, Errors: c.Errors, ActiveFlows: c.ActiveFlows, BytesIn: c.BytesIn, BytesOut: c.BytesOut,
			UDPIn: c.UDPIn, UDPOut: c.UDPOut, UDPDropped: c.UDPDropped, UDPSessions: c.UDPSessions,
		}
	})
}

// start starts the event log and the web listener; the returned function
// stops the listener (the event log stops with ctx).
func (o *observability) start(ctx context.Context, ctl *control.Controller, px *proxy.Proxy, log *slog.Logger) (func(), error) {
	if *o.events > 0 {
		el := metrics.NewEventLog(ctl.Director(), proxy.SystemClock, log.With("component", "events"), &o.health)
		el.Poll() // the state before anything below changes it
		go el.Run(ctx, *o.events)
	}
	if *o.httpAddr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", *o.httpAddr)
	if err != nil {
		return nil, fmt.Errorf("-http: %w", err)
	}
	srv := &http.Server{
		Handler:           web.New(ctl, web.Options{Health: &o.health, DataPlane: proxyCounters(px)}),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("web view", "err", err)
		}
	}()
	log.Info("web view", "url", "http://"+ln.Addr().String()+"/", "metrics", "http://"+ln.Addr().String()+"/metrics")
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}, nil
}
