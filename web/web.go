// Package web serves golvs's live web view: virtual services and real
// servers with their counters, rates and health, the persistence templates
// (which client network is pinned to which real server, and for how long),
// and an Explain box that shows what the director would do with a packet
// and which kernel rule decided it.
//
// The page is plain HTML and JavaScript embedded in the binary. It reads the
// controller's JSON API (GET /v1/services, GET /v1/connections,
// POST /v1/explain), which this handler mounts read-only: the mutating
// POST /v1/ipvsadm and POST /v1/reload are refused here (administration
// stays on the control socket). It also serves /metrics (package metrics) and two small
// read-only endpoints of its own: /ui/status (table, decisions, totals,
// health) and /ui/meta (names of verdicts and reasons).
package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/netip"
	"sort"
	"time"

	"github.com/golvs/golvs/control"
	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/metrics"
)

//go:embed static
var static embed.FS

// Options configure the web view.
type Options struct {
	// Health and DataPlane are optional sources shown in the view and
	// exported on /metrics.
	Health    metrics.HealthSource
	DataPlane metrics.DataPlaneSource
}

// Handler returns the web view of ctl with no health or data-plane source:
// /, /static/..., the read-only /v1/ API, /ui/... and /metrics.
func Handler(ctl *control.Controller) http.Handler { return New(ctl, Options{}) }

// New returns the web view of ctl.
func New(ctl *control.Controller, opts Options) http.Handler {
	mux := http.NewServeMux()
	api := ctl.Handler("")
	mux.Handle("GET /v1/services", api)
	mux.Handle("GET /v1/connections", api)
	mux.Handle("POST /v1/explain", api)
	readOnly := func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "forbidden: the web listener is read-only; administer golvsd with golvsadm on its control socket", http.StatusForbidden)
	}
	mux.HandleFunc("/v1/ipvsadm", readOnly)
	mux.HandleFunc("/v1/reload", readOnly)
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not served by the web view", http.StatusNotFound)
	})
	d := ctl.Director()
	mux.Handle("GET /metrics", metrics.Handler(d, metrics.Options{Health: opts.Health, DataPlane: opts.DataPlane}))
	mux.HandleFunc("GET /ui/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, status(d, opts))
	})
	mux.HandleFunc("GET /ui/meta", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, meta())
	})
	mux.Handle("GET /static/", http.FileServerFS(static))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(static, "static/index.html")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(b)
	})
	return secure(mux)
}

// secure adds headers that keep the page self-contained: scripts, styles
// and connections only from this origin, no framing.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// HealthEntry is one real server's health in /ui/status.
type HealthEntry struct {
	// Service is named as ipvsadm lists it ("TCP 10.0.0.1:80", "FWM 3").
	Service string `json:"service"`
	Server  string `json:"server"`
	metrics.Health
}

// Status is the answer of /ui/status.
type Status struct {
	Time time.Time `json:"time"`
	// Entries is the connection table's size, templates included; Limit
	// its bound (0: none); Refused the entries refused because it was full.
	Entries   int                        `json:"entries"`
	Templates uint64                     `json:"templates"`
	Limit     int                        `json:"limit"`
	Refused   uint64                     `json:"refused"`
	Decisions []metrics.Outcome          `json:"decisions"`
	Totals    ipvs.StatsInfo             `json:"totals"`
	Health    []HealthEntry              `json:"health"`
	DataPlane *metrics.DataPlaneCounters `json:"dataplane,omitempty"`
}

func status(d *ipvs.Director, opts Options) Status {
	st := Status{
		Time:      time.Now(),
		Entries:   d.ConnCount(),
		Limit:     d.Settings().MaxConns,
		Refused:   d.Refused(),
		Decisions: metrics.Outcomes(d.Counters()),
		Totals:    d.TotalStats(),
		Health:    []HealthEntry{},
	}
	for _, s := range d.Services() {
		for _, x := range s.Dests {
			st.Templates += uint64(x.PersistConns)
		}
	}
	if opts.Health != nil {
		for k, h := range opts.Health.Health() {
			k = k.Normalize()
			st.Health = append(st.Health, HealthEntry{Service: metrics.ServiceName(k.Service), Server: serverName(k.Server), Health: h})
		}
		sort.Slice(st.Health, func(i, j int) bool {
			a, b := st.Health[i], st.Health[j]
			if a.Service != b.Service {
				return a.Service < b.Service
			}
			return a.Server < b.Server
		})
	}
	if opts.DataPlane != nil {
		c := opts.DataPlane.DataPlaneCounters()
		st.DataPlane = &c
	}
	return st
}

func serverName(ap netip.AddrPort) string { return ap.String() }

// ReasonName is a reason's name and the kernel function it mirrors.
type ReasonName struct {
	Name string `json:"name"`
	Func string `json:"func"`
}

// Meta is the answer of /ui/meta: the names of the numeric codes in the
// JSON API (Explanation.Verdict, Outcome, Steps[].Reason, Template.Kind).
type Meta struct {
	Verdicts      []string     `json:"verdicts"`
	Reasons       []ReasonName `json:"reasons"`
	TemplateKinds []string     `json:"templateKinds"`
}

func meta() Meta {
	var m Meta
	for v := ipvs.Verdict(0); v.String() != "?" && v < 64; v++ {
		m.Verdicts = append(m.Verdicts, v.String())
	}
	for r := ipvs.Reason(0); r.String() != "?" && r < 255; r++ {
		m.Reasons = append(m.Reasons, ReasonName{r.String(), r.KernelFunc()})
	}
	for k := ipvs.TemplateNormal; k <= ipvs.TemplateFWMark; k++ {
		m.TemplateKinds = append(m.TemplateKinds, k.String())
	}
	return m
}
