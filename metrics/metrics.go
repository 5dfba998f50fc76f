// Package metrics exports a director's state as Prometheus metrics, read
// from the director's snapshots at scrape time: per virtual service and per
// real server the configuration (weight, scheduler), the connection
// counters the kernel keeps (active, inactive, persistent), the statistics
// (connections, packets, bytes) and the kernel estimator's rates; for the
// whole director the totals, the connection table and the decisions by
// outcome; optionally real-server health and data-plane counters.
//
// Statistics counters follow the kernel: they are the values folded by the
// 2-second estimator (so they lag up to 2 s), and `ipvsadm -Z` zeroes them,
// which Prometheus sees as a counter reset.
package metrics

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/golvs/golvs/ipvs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// RealServer names a real server of a virtual service, for health.
type RealServer struct {
	Service ipvs.ServiceKey
	Server  netip.AddrPort
}

// Normalize returns r with the service key in the form the director lists
// it (family set, IPv4-mapped addresses unmapped, fwmark services without
// address, port and protocol), so that keys from other sources compare equal.
func (r RealServer) Normalize() RealServer {
	r.Service = NormalizeKey(r.Service)
	r.Server = netip.AddrPortFrom(r.Server.Addr().Unmap(), r.Server.Port())
	return r
}

// NormalizeKey returns k as the director lists it.
func NormalizeKey(k ipvs.ServiceKey) ipvs.ServiceKey {
	if k.FWMark != 0 {
		if k.Family == 0 {
			k.Family = ipvs.AFInet
		}
		return ipvs.ServiceKey{Family: k.Family, Protocol: ipvs.ProtoTCP, FWMark: k.FWMark}
	}
	k.Addr = k.Addr.Unmap()
	if k.Addr.IsValid() {
		k.Family = ipvs.FamilyOf(k.Addr)
	}
	return k
}

// Health is a real server's state as a health checker last saw it.
type Health struct {
	Healthy bool `json:"healthy"`
	// Detail is the checker's last message (e.g. why it failed).
	Detail string `json:"detail,omitempty"`
	// Since is when the state last changed (zero if unknown).
	Since time.Time `json:"since,omitzero"`
}

// HealthSource reports real servers' health. Real servers it does not
// report have no health metric. Implementations must be safe for
// concurrent use.
type HealthSource interface {
	Health() map[RealServer]Health
}

// DataPlaneCounters are the data plane's own counters (the user-space
// proxy's: see dataplane/proxy.Counters).
type DataPlaneCounters struct {
	// TCP client connections accepted, relayed to a real server, and reset
	// because the core did not forward them.
	Accepted, Forwarded, Rejected uint64
	// DialErrors counts failed connects to real servers.
	DialErrors uint64
	// Expired counts relays closed because their core entry went away.
	Expired uint64
	// Errors counts other failures (accept errors, relay I/O errors).
	Errors uint64
	// ActiveFlows is the number of TCP relays now.
	ActiveFlows int64
	// BytesIn and BytesOut count payload bytes from clients and from real
	// servers.
	BytesIn, BytesOut uint64
	// UDP datagrams relayed each way, and dropped.
	UDPIn, UDPOut, UDPDropped uint64
	// UDPSessions is the number of UDP sessions now.
	UDPSessions int64
}

// DataPlaneSource gives the data plane's counters.
type DataPlaneSource interface {
	DataPlaneCounters() DataPlaneCounters
}

// DataPlaneFunc adapts a function to DataPlaneSource.
type DataPlaneFunc func() DataPlaneCounters

// DataPlaneCounters calls f.
func (f DataPlaneFunc) DataPlaneCounters() DataPlaneCounters { return f() }

// Options are the optional sources of a [Collector].
type Options struct {
	// Health, if set, adds golvs_realserver_healthy.
	Health HealthSource
	// DataPlane, if set, adds the golvs_dataplane_* metrics.
	DataPlane DataPlaneSource
}

// Label names.
const (
	LabelFamily    = "family"
	LabelProtocol  = "protocol"
	LabelVIP       = "vip"
	LabelVPort     = "vport"
	LabelFWMark    = "fwmark"
	LabelServer    = "server"
	LabelDirection = "direction"
	LabelOutcome   = "outcome"
)

var (
	svcLabels  = []string{LabelFamily, LabelProtocol, LabelVIP, LabelVPort, LabelFWMark}
	destLabels = append(append([]string{}, svcLabels...), LabelServer)
)

func withDir(l []string) []string { return append(append([]string{}, l...), LabelDirection) }

// statDescs are the descriptors of one block of statistics.
type statDescs struct {
	conns, pkts, bytes     *prometheus.Desc
	cps, pktRate, byteRate *prometheus.Desc
}

func newStatDescs(prefix, what string, labels []string) statDescs {
	return statDescs{
		conns: prometheus.NewDesc(prefix+"connections_total",
			"Connections scheduled "+what+" (templates excluded), as folded by the 2 s estimator; reset by ipvsadm -Z.", labels, nil),
		pkts: prometheus.NewDesc(prefix+"packets_total",
			"Packets "+what+" by direction (in: from clients, out: NAT replies), as folded by the 2 s estimator.", withDir(labels), nil),
		bytes: prometheus.NewDesc(prefix+"bytes_total",
			"Bytes (full IP packet length) "+what+" by direction, as folded by the 2 s estimator.", withDir(labels), nil),
		cps: prometheus.NewDesc(prefix+"connections_per_second",
			"Connection rate "+what+" from the kernel's estimator (ipvsadm --rate CPS).", labels, nil),
		pktRate: prometheus.NewDesc(prefix+"packets_per_second",
			"Packet rate "+what+" by direction from the kernel's estimator (InPPS, OutPPS).", withDir(labels), nil),
		byteRate: prometheus.NewDesc(prefix+"bytes_per_second",
			"Byte rate "+what+" by direction from the kernel's estimator (InBPS, OutBPS).", withDir(labels), nil),
	}
}

func (sd statDescs) describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{sd.conns, sd.pkts, sd.bytes, sd.cps, sd.pktRate, sd.byteRate} {
		ch <- d
	}
}

func (sd statDescs) collect(ch chan<- prometheus.Metric, s ipvs.StatsInfo, lv []string) {
	in, out := append(append([]string{}, lv...), "in"), append(append([]string{}, lv...), "out")
	ch <- prometheus.MustNewConstMetric(sd.conns, prometheus.CounterValue, float64(s.Conns), lv...)
	ch <- prometheus.MustNewConstMetric(sd.pkts, prometheus.CounterValue, float64(s.InPkts), in...)
	ch <- prometheus.MustNewConstMetric(sd.pkts, prometheus.CounterValue, float64(s.OutPkts), out...)
	ch <- prometheus.MustNewConstMetric(sd.bytes, prometheus.CounterValue, float64(s.InBytes), in...)
	ch <- prometheus.MustNewConstMetric(sd.bytes, prometheus.CounterValue, float64(s.OutBytes), out...)
	ch <- prometheus.MustNewConstMetric(sd.cps, prometheus.GaugeValue, float64(s.CPS), lv...)
	ch <- prometheus.MustNewConstMetric(sd.pktRate, prometheus.GaugeValue, float64(s.InPPS), in...)
	ch <- prometheus.MustNewConstMetric(sd.pktRate, prometheus.GaugeValue, float64(s.OutPPS), out...)
	ch <- prometheus.MustNewConstMetric(sd.byteRate, prometheus.GaugeValue, float64(s.InBPS), in...)
	ch <- prometheus.MustNewConstMetric(sd.byteRate, prometheus.GaugeValue, float64(s.OutBPS), out...)
}

// Collector is a prometheus.Collector of one director.
type Collector struct {
	d    *ipvs.Director
	opts Options

	svcInfo, svcPersist, svcDests *prometheus.Desc
	svcStats                      statDescs

	rsInfo, rsWeight, rsActive, rsInact, rsPersist, rsOverload, rsHealthy *prometheus.Desc
	rsStats                                                               statDescs

	services, tableEntries, tableTemplates, tableLimit, tableRefused, decisions *prometheus.Desc
	totalStats                                                                  statDescs

	dpAccepted, dpForwarded, dpRejected, dpDialErr, dpExpired, dpErrors *prometheus.Desc
	dpFlows, dpBytes, dpUDP, dpUDPDropped, dpUDPSessions                *prometheus.Desc
}

// NewCollector returns a collector of d.
func NewCollector(d *ipvs.Director, opts Options) *Collector {
	g := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	info := append(append([]string{}, svcLabels...), "scheduler")
	rsInfo := append(append([]string{}, destLabels...), "forward")
	return &Collector{
		d: d, opts: opts,
		svcInfo:    g("golvs_service_info", "Virtual service, with its scheduler; always 1.", info...),
		svcPersist: g("golvs_service_persistence_timeout_seconds", "Persistence timeout of a persistent virtual service (ipvsadm -p).", svcLabels...),
		svcDests:   g("golvs_service_realservers", "Number of real servers of a virtual service.", svcLabels...),
		svcStats:   newStatDescs("golvs_service_", "by the virtual service", svcLabels),

		rsInfo:     g("golvs_realserver_info", "Real server, with its forwarding method (masq, local, tunnel, route); always 1.", rsInfo...),
		rsWeight:   g("golvs_realserver_weight", "Weight of a real server (0: quiescent).", destLabels...),
		rsActive:   g("golvs_realserver_active_connections", "Active connections of a real server (ipvsadm ActiveConn).", destLabels...),
		rsInact:    g("golvs_realserver_inactive_connections", "Inactive connections of a real server (ipvsadm InActConn).", destLabels...),
		rsPersist:  g("golvs_realserver_persistent_connections", "Persistence templates pointing at a real server (ipvsadm PersistConn).", destLabels...),
		rsOverload: g("golvs_realserver_overloaded", "1 when the real server is over its upper connection threshold.", destLabels...),
		rsHealthy:  g("golvs_realserver_healthy", "1 when the health checker finds the real server healthy, 0 when not.", destLabels...),
		rsStats:    newStatDescs("golvs_realserver_", "by the real server", destLabels),

		services:       g("golvs_services", "Number of virtual services."),
		tableEntries:   g("golvs_connection_table_entries", "Entries in the connection table, persistence templates included."),
		tableTemplates: g("golvs_connection_table_templates", "Persistence templates of listed real servers (sum of PersistConn)."),
		tableLimit:     g("golvs_connection_table_limit_entries", "Bound on the connection table's entries (0: none)."),
		tableRefused:   g("golvs_connection_table_refused_total", "New entries refused because the connection table was full."),
		decisions:      g("golvs_decisions_total", "Scheduling decisions by outcome.", LabelOutcome),
		totalStats:     newStatDescs("golvs_", "by the whole director", nil),

		dpAccepted:    g("golvs_dataplane_tcp_accepted_total", "TCP client connections accepted by the data plane."),
		dpForwarded:   g("golvs_dataplane_tcp_forwarded_total", "TCP connections relayed to a real server."),
		dpRejected:    g("golvs_dataplane_tcp_rejected_total", "TCP connections reset because the director did not forward them."),
		dpDialErr:     g("golvs_dataplane_dial_errors_total", "Failed connects to real servers."),
		dpExpired:     g("golvs_dataplane_tcp_expired_total", "TCP relays closed because their connection entry went away."),
		dpErrors:      g("golvs_dataplane_errors_total", "Other data-plane failures (accept errors, relay I/O errors)."),
		dpFlows:       g("golvs_dataplane_tcp_active_flows", "TCP relays now."),
		dpBytes:       g("golvs_dataplane_payload_bytes_total", "Payload bytes relayed, by direction (in: from clients).", LabelDirection),
		dpUDP:         g("golvs_dataplane_udp_datagrams_total", "UDP datagrams relayed, by direction.", LabelDirection),
		dpUDPDropped:  g("golvs_dataplane_udp_dropped_total", "UDP datagrams not forwarded or not sent."),
		dpUDPSessions: g("golvs_dataplane_udp_sessions", "UDP sessions now."),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.svcInfo, c.svcPersist, c.svcDests,
		c.rsInfo, c.rsWeight, c.rsActive, c.rsInact, c.rsPersist, c.rsOverload,
		c.services, c.tableEntries, c.tableTemplates, c.tableLimit, c.tableRefused, c.decisions} {
		ch <- d
	}
	c.svcStats.describe(ch)
	c.rsStats.describe(ch)
	c.totalStats.describe(ch)
	if c.opts.Health != nil {
		ch <- c.rsHealthy
	}
	if c.opts.DataPlane != nil {
		for _, d := range []*prometheus.Desc{c.dpAccepted, c.dpForwarded, c.dpRejected, c.dpDialErr,
			c.dpExpired, c.dpErrors, c.dpFlows, c.dpBytes, c.dpUDP, c.dpUDPDropped, c.dpUDPSessions} {
			ch <- d
		}
	}
}

// ServiceLabels returns the label values of a service: family (ipv4,
// ipv6), protocol (tcp, udp, sctp; fwm for fwmark services), vip, vport,
// fwmark (empty for address services; vip and vport empty for fwmark
// services).
func ServiceLabels(k ipvs.ServiceKey) []string {
	fam := "ipv4"
	if k.Family == ipvs.AFInet6 {
		fam = "ipv6"
	}
	if k.FWMark != 0 {
		return []string{fam, "fwm", "", "", strconv.FormatUint(uint64(k.FWMark), 10)}
	}
	return []string{fam, strings.ToLower(ipvs.ProtoName(k.Protocol)), k.Addr.String(), strconv.Itoa(int(k.Port)), ""}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
	}
	counter := func(d *prometheus.Desc, v uint64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), lv...)
	}
	var health map[RealServer]Health
	if c.opts.Health != nil {
		health = map[RealServer]Health{}
		for k, h := range c.opts.Health.Health() {
			health[k.Normalize()] = h
		}
	}
	svcs := c.d.Services()
	var templates uint64
	for _, s := range svcs {
		lv := ServiceLabels(s.ServiceKey)
		gauge(c.svcInfo, 1, append(append([]string{}, lv...), s.Scheduler)...)
		if s.Flags&ipvs.SvcPersistent != 0 {
			gauge(c.svcPersist, float64(s.Timeout), lv...)
		}
		gauge(c.svcDests, float64(len(s.Dests)), lv...)
		c.svcStats.collect(ch, s.Stats, lv)
		for _, x := range s.Dests {
			ap := netip.AddrPortFrom(x.Addr, x.Port)
			dl := append(append([]string{}, lv...), ap.String())
			gauge(c.rsInfo, 1, append(append([]string{}, dl...), strings.ToLower(x.Method.String()))...)
			gauge(c.rsWeight, float64(x.Weight), dl...)
			gauge(c.rsActive, float64(x.ActiveConns), dl...)
			gauge(c.rsInact, float64(x.InactConns), dl...)
			gauge(c.rsPersist, float64(x.PersistConns), dl...)
			gauge(c.rsOverload, b2f(x.Overloaded), dl...)
			if h, ok := health[RealServer{Service: s.ServiceKey, Server: ap}.Normalize()]; ok {
				gauge(c.rsHealthy, b2f(h.Healthy), dl...)
			}
			c.rsStats.collect(ch, x.Stats, dl)
			templates += uint64(x.PersistConns)
		}
	}
	gauge(c.services, float64(len(svcs)))
	gauge(c.tableEntries, float64(c.d.ConnCount()))
	gauge(c.tableTemplates, float64(templates))
	gauge(c.tableLimit, float64(c.d.Settings().MaxConns))
	counter(c.tableRefused, c.d.Refused())
	for _, o := range Outcomes(c.d.Counters()) {
		counter(c.decisions, o.Count, o.Name)
	}
	c.totalStats.collect(ch, c.d.TotalStats(), nil)

	if c.opts.DataPlane != nil {
		dp := c.opts.DataPlane.DataPlaneCounters()
		counter(c.dpAccepted, dp.Accepted)
		counter(c.dpForwarded, dp.Forwarded)
		counter(c.dpRejected, dp.Rejected)
		counter(c.dpDialErr, dp.DialErrors)
		counter(c.dpExpired, dp.Expired)
		counter(c.dpErrors, dp.Errors)
		gauge(c.dpFlows, float64(dp.ActiveFlows))
		counter(c.dpBytes, dp.BytesIn, "in")
		counter(c.dpBytes, dp.BytesOut, "out")
		counter(c.dpUDP, dp.UDPIn, "in")
		counter(c.dpUDP, dp.UDPOut, "out")
		counter(c.dpUDPDropped, dp.UDPDropped)
		gauge(c.dpUDPSessions, float64(dp.UDPSessions))
	}
}

// Outcome is one decision counter.
type Outcome struct {
	Name  string `json:"name"`
	Count uint64 `json:"count"`
}

// Outcomes returns the director's decision counters with their metric
// label values, in a fixed order.
func Outcomes(cn *ipvs.Counters) []Outcome {
	return []Outcome{
		{"template_hit", cn.TemplateHit.Load()},
		{"template_miss", cn.TemplateMiss.Load()},
		{"template_invalid", cn.TemplateInvalid.Load()},
		{"scheduled", cn.Scheduled.Load()},
		{"rescheduled", cn.Rescheduled.Load()},
		{"no_destination", cn.NoDest.Load()},
		{"dropped", cn.Dropped.Load()},
		{"table_full", cn.TableFull.Load()},
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// NewRegistry returns a registry with the director's collector and the Go
// runtime and process collectors.
func NewRegistry(d *ipvs.Director, opts Options) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(d, opts),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Handler serves the director's metrics (for /metrics).
func Handler(d *ipvs.Director, opts Options) http.Handler {
	return promhttp.HandlerFor(NewRegistry(d, opts), promhttp.HandlerOpts{})
}
