package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"time"

	"github.com/golvs/golvs/ipvs"
)

// Clock gives the current time on the core's clock.
type Clock interface{ Now() ipvs.Time }

// EventLog watches a director and logs what changed between two looks as
// structured events (log/slog): services and real servers added and
// removed, real-server weight changes, a summary line per configuration
// change (a reload, an ipvsadm command), health changes when a health
// source is given, and how many persistence templates expired.
//
// It works from the director's snapshots only, so it sees the net effect of
// everything that happened between two polls: a weight changed and changed
// back within one interval is not logged. Counting expired templates walks
// the connection table (Director.Conns), which costs O(entries) per poll.
type EventLog struct {
	d      *ipvs.Director
	clock  Clock
	log    *slog.Logger
	health HealthSource

	primed    bool
	list      []ipvs.ServiceInfo // the previous listing, for ordered logs
	svcs      map[ipvs.ServiceKey]ipvs.ServiceInfo
	dests     map[RealServer]ipvs.DestInfo
	healthy   map[RealServer]bool
	templates map[uint64]struct{}
}

// NewEventLog returns an event log of d. health may be nil.
func NewEventLog(d *ipvs.Director, clock Clock, log *slog.Logger, health HealthSource) *EventLog {
	if log == nil {
		log = slog.Default()
	}
	return &EventLog{d: d, clock: clock, log: log, health: health}
}

// ServiceName renders a service key as ipvsadm lists it: "TCP
// 10.0.0.1:80", "FWM 3".
func ServiceName(k ipvs.ServiceKey) string {
	if k.FWMark != 0 {
		if k.Family == ipvs.AFInet6 {
			return fmt.Sprintf("FWM %d IPv6", k.FWMark)
		}
		return fmt.Sprintf("FWM %d", k.FWMark)
	}
	return ipvs.ProtoName(k.Protocol) + " " + netip.AddrPortFrom(k.Addr, k.Port).String()
}

// Poll compares the director with the previous poll and logs the
// differences. The first poll only records the state (and logs it as
// "initial configuration").
func (e *EventLog) Poll() {
	list := e.d.Services()
	svcs := map[ipvs.ServiceKey]ipvs.ServiceInfo{}
	dests := map[RealServer]ipvs.DestInfo{}
	for _, s := range list {
		svcs[s.ServiceKey] = s
		for _, x := range s.Dests {
			dests[RealServer{s.ServiceKey, netip.AddrPortFrom(x.Addr, x.Port)}] = x
		}
	}
	templates := map[uint64]struct{}{}
	for _, c := range e.d.Conns(e.clock.Now()) {
		if c.Template {
			templates[c.Seq] = struct{}{}
		}
	}
	var healthy map[RealServer]bool
	var healthKeys []RealServer
	if e.health != nil {
		healthy = map[RealServer]bool{}
		for k, h := range e.health.Health() {
			k = k.Normalize()
			healthy[k] = h.Healthy
			healthKeys = append(healthKeys, k)
		}
		sort.Slice(healthKeys, func(i, j int) bool {
			a, b := healthKeys[i], healthKeys[j]
			if an, bn := ServiceName(a.Service), ServiceName(b.Service); an != bn {
				return an < bn
			}
			return a.Server.String() < b.Server.String()
		})
	}
	defer func() { e.list, e.svcs, e.dests, e.healthy, e.templates = list, svcs, dests, healthy, templates }()
	if !e.primed {
		e.primed = true
		e.log.Info("initial configuration", "services", len(svcs), "realservers", len(dests), "templates", len(templates))
		return
	}

	// In listing order: services, then their real servers; removals after.
	var added, removed, edited, rsAdded, rsRemoved, weights int
	for _, s := range list {
		k := s.ServiceKey
		old, ok := e.svcs[k]
		switch {
		case !ok:
			added++
			e.log.Info("service added", "service", ServiceName(k), "scheduler", s.Scheduler, "persistent", s.Flags&ipvs.SvcPersistent != 0, "timeout", s.Timeout)
		case old.Scheduler != s.Scheduler || old.Flags != s.Flags || old.Timeout != s.Timeout || old.Netmask != s.Netmask || old.PE != s.PE:
			edited++
			e.log.Info("service edited", "service", ServiceName(k), "scheduler", s.Scheduler, "old_scheduler", old.Scheduler,
				"persistent", s.Flags&ipvs.SvcPersistent != 0, "timeout", s.Timeout, "old_timeout", old.Timeout)
		}
		for _, x := range s.Dests {
			rk := RealServer{k, netip.AddrPortFrom(x.Addr, x.Port)}
			old, ok := e.dests[rk]
			switch {
			case !ok:
				rsAdded++
				e.log.Info("realserver added", "service", ServiceName(k), "server", rk.Server.String(), "weight", x.Weight, "forward", x.Method.String())
			case old.Weight != x.Weight:
				weights++
				e.log.Info("realserver weight changed", "service", ServiceName(k), "server", rk.Server.String(), "old_weight", old.Weight, "weight", x.Weight)
			}
		}
	}
	for _, s := range e.list {
		k := s.ServiceKey
		if _, ok := svcs[k]; !ok {
			removed++
			e.log.Info("service removed", "service", ServiceName(k))
		}
		for _, x := range s.Dests {
			rk := RealServer{k, netip.AddrPortFrom(x.Addr, x.Port)}
			if _, ok := dests[rk]; !ok {
				rsRemoved++
				e.log.Info("realserver removed", "service", ServiceName(k), "server", rk.Server.String(), "weight", x.Weight)
			}
		}
	}
	if added+removed+edited+rsAdded+rsRemoved+weights > 0 {
		e.log.Info("configuration changed", "services_added", added, "services_removed", removed, "services_edited", edited,
			"realservers_added", rsAdded, "realservers_removed", rsRemoved, "weights_changed", weights,
			"services", len(svcs), "realservers", len(dests))
	}
	for _, k := range healthKeys {
		h := healthy[k]
		if old, ok := e.healthy[k]; !ok || old != h {
			lvl := slog.LevelInfo
			if !h {
				lvl = slog.LevelWarn
			}
			e.log.Log(context.Background(), lvl, "realserver health changed", "service", ServiceName(k.Service), "server", k.Server.String(), "healthy", h)
		}
	}
	expired := 0
	for seq := range e.templates {
		if _, ok := templates[seq]; !ok {
			expired++
		}
	}
	if expired > 0 {
		e.log.Info("templates expired", "count", expired, "templates", len(templates))
	}
}

// Run polls every interval until ctx ends (first at once, unless Poll was
// called already). Poll must not be called while Run runs.
func (e *EventLog) Run(ctx context.Context, interval time.Duration) {
	if !e.primed {
		e.Poll()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.Poll()
		}
	}
}
