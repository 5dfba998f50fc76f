package main

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/golvs/golvs/check"
	"github.com/golvs/golvs/config"
	"github.com/golvs/golvs/control"
)

// healthRunner runs the health checks of the current configuration. A
// reload replaces the checker: the configuration's weights are applied,
// then the new checker takes servers down again as its checks fail.
type healthRunner struct {
	mu     sync.Mutex
	cur    *check.Checker
	cancel context.CancelFunc
	obs    *observability
	log    *slog.Logger
	base   context.Context
}

// ctx returns the daemon's context given to the first restart.
func (h *healthRunner) ctx() context.Context {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.base == nil {
		return context.Background()
	}
	return h.base
}

// restart stops the running checker and starts one for c's checks.
func (h *healthRunner) restart(ctx context.Context, ctl *control.Controller, c *config.Config) error {
	svcs, err := check.FromConfig(c)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.base == nil {
		h.base = ctx
	}
	if h.cur != nil {
		h.cancel()
		h.cur.Stop()
		h.cur = nil
	}
	if len(svcs) == 0 {
		return nil
	}
	ck, err := check.New(ctl, svcs, &check.Options{Log: h.log})
	if err != nil {
		return err
	}
	cctx, cancel := context.WithCancel(ctx)
	if err := ck.Start(cctx); err != nil {
		cancel()
		return err
	}
	h.cur, h.cancel = ck, cancel
	if h.obs != nil {
		h.obs.setHealth(ck)
	}
	h.log.Info("health checks running", "services", len(svcs))
	return nil
}

// ServeHTTP serves GET /v1/health: the checker's state and history.
func (h *healthRunner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	ck := h.cur
	h.mu.Unlock()
	if ck == nil {
		http.Error(w, "no health checks configured", http.StatusNotFound)
		return
	}
	ck.Handler().ServeHTTP(w, r)
}

// Stop stops the running checker.
func (h *healthRunner) Stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur != nil {
		h.cancel()
		h.cur.Stop()
		h.cur = nil
	}
}
