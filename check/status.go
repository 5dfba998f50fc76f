package check

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"time"

	"github.com/golvs/golvs/metrics"
)

// Status is the state of every checked service, for golvsadm and the API
// (GET /v1/health).
type Status struct {
	Services []ServiceStatus `json:"services"`
}

// ServiceStatus is one service's quorum state and its servers.
type ServiceStatus struct {
	// Service is the service as ipvsadm names it ("TCP 10.0.0.1:80").
	Service    string `json:"service"`
	Quorum     int64  `json:"quorum"`
	Hysteresis int64  `json:"hysteresis"`
	QuorumUp   bool   `json:"quorum_up"`
	// AliveWeight is the total weight of the alive servers.
	AliveWeight int64 `json:"alive_weight"`
	// SorryServer is the sorry server's addr:port, "" when none;
	// SorryActive reports whether it replaces the real servers now.
	SorryServer string `json:"sorry_server,omitempty"`
	SorryActive bool   `json:"sorry_active"`
	// ApplyError is the director's last refusal, "" once a change went
	// through.
	ApplyError string `json:"apply_error,omitempty"`
	// History holds the last quorum transitions, oldest first.
	History []Transition   `json:"history"`
	Servers []ServerStatus `json:"servers"`
}

// ServerStatus is one real server's health.
type ServerStatus struct {
	// Server is the real server's addr:port.
	Server string `json:"server"`
	// Check describes the probe ("tcp 10.0.0.2:80"); "" for a server that
	// is not checked (always up).
	Check string `json:"check,omitempty"`
	// State is "up" or "down"; Since is when it became so.
	State string    `json:"state"`
	Since time.Time `json:"since"`
	// Weight is the server's weight when up (a dynamic misc check changes
	// it); DirectorWeight is the weight the checker gives it in the
	// director, -1 when it is not installed.
	Weight         int32 `json:"weight"`
	DirectorWeight int32 `json:"director_weight"`
	Inhibit        bool  `json:"inhibit_on_failure,omitempty"`
	// LastCheck is when the last attempt ended (zero before the first).
	LastCheck time.Time `json:"last_check,omitzero"`
	// LastError is the last failed attempt's error and LastErrorAt its
	// time; they stay after later successes.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// ConsecutiveFailures counts failed attempts since the last success.
	ConsecutiveFailures int    `json:"consecutive_failures"`
	Checks              uint64 `json:"checks"`
	Failures            uint64 `json:"failures"`
	// History holds the last transitions, oldest first.
	History []Transition `json:"history"`
}

// Transition is one change of state.
type Transition struct {
	At     time.Time `json:"at"`
	State  string    `json:"state"`
	Reason string    `json:"reason,omitempty"`
}

// ring keeps the last size transitions.
type ring struct {
	size int
	buf  []Transition
	next int
}

func (r *ring) add(t Transition) {
	if len(r.buf) < r.size {
		r.buf = append(r.buf, t)
		return
	}
	r.buf[r.next] = t
	r.next = (r.next + 1) % r.size
}

func (r *ring) list() []Transition {
	out := make([]Transition, 0, len(r.buf))
	out = append(out, r.buf[r.next:]...)
	return append(out, r.buf[:r.next]...)
}

// Status returns a snapshot of every service and server.
func (c *Checker) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := Status{Services: make([]ServiceStatus, 0, len(c.svcs))}
	for _, s := range c.svcs {
		ss := ServiceStatus{
			Service: s.name, Quorum: s.quorum, Hysteresis: s.hysteresis, QuorumUp: s.quorumUp,
			AliveWeight: s.aliveWeight(), SorryActive: s.sorryAlive, ApplyError: s.applyErr,
			History: s.hist.list(), Servers: make([]ServerStatus, 0, len(s.servers)),
		}
		if s.sorry != nil {
			ss.SorryServer = destName(*s.sorry)
		}
		want := s.desired()
		for i, r := range s.servers {
			rs := ServerStatus{
				Server: r.name, State: r.stateName(), Since: r.since, Weight: r.weight,
				DirectorWeight: -1, Inhibit: r.spec.InhibitOnFailure,
				LastCheck: r.lastCheck, LastError: r.lastErr, LastErrorAt: r.lastErrAt,
				ConsecutiveFailures: r.consecFail, Checks: r.checks, Failures: r.failures,
				History: r.hist.list(),
			}
			if r.check != nil {
				rs.Check = r.check.Probe.String()
			}
			if w := want[i]; w.present && w.cfg.Addr == r.spec.Dest.Addr && w.cfg.Port == r.spec.Dest.Port {
				rs.DirectorWeight = w.cfg.Weight
			}
			ss.Servers = append(ss.Servers, rs)
		}
		st.Services = append(st.Services, ss)
	}
	return st
}

// Handler serves the status as JSON at GET /v1/health.
func (c *Checker) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(c.Status())
	})
	return mux
}

// Health reports the checked real servers' health, for the metrics and
// the web view (metrics.HealthSource). Servers without a check are left
// out.
func (c *Checker) Health() map[metrics.RealServer]metrics.Health {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[metrics.RealServer]metrics.Health)
	for _, s := range c.svcs {
		for _, r := range s.servers {
			if r.check == nil {
				continue
			}
			k := metrics.RealServer{Service: s.spec.Key, Server: netip.AddrPortFrom(r.spec.Dest.Addr, r.spec.Dest.Port)}.Normalize()
			h := metrics.Health{Healthy: r.alive, Since: r.since}
			if !r.alive {
				h.Detail = r.lastErr
			}
			out[k] = h
		}
	}
	return out
}
