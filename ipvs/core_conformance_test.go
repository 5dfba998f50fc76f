package ipvs_test

// Conformance tests of the core against the kernel (Linux 6.1,
// net/netfilter/ipvs) and the behaviour spec (sections 1-3 and 8). One
// subtest per rule; the comment on each names the kernel function whose
// behaviour it pins. Expected tables marked "transcript NNN" are the
// kernel's own output in replay/testdata/kernel/NNN-*.out.

import (
	"net/netip"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
)

// open runs a full TCP handshake through NAT: SYN in, SYN+ACK out, ACK in.
func (r *rig) open(src, dst, dest string) {
	r.t.Helper()
	r.forwardTo(syn(src, dst), dest)
	if res := r.send(reply(dest, src, ipvs.TCPSyn|ipvs.TCPAck)); res.Verdict != ipvs.VerdictForward {
		r.t.Fatalf("SYN+ACK from %s: %v/%v", dest, res.Verdict, res.Reason)
	}
	r.forwardTo(ack(src, dst), dest)
}

// tplStep is one packet of a template case: forwarded to dest, or, when
// dest is empty, answered with verdict/reason.
type tplStep struct {
	p       *ipvs.Packet
	dest    string
	open    bool
	verdict ipvs.Verdict
	reason  ipvs.Reason
}

func fwd(p *ipvs.Packet, dest string) tplStep { return tplStep{p: p, dest: dest} }
func openTo(src, dst, dest string) tplStep {
	return tplStep{p: syn(src, dst), dest: dest, open: true}
}
func refused(p *ipvs.Packet, v ipvs.Verdict, why ipvs.Reason) tplStep {
	return tplStep{p: p, verdict: v, reason: why}
}

func (r *rig) run(steps []tplStep) {
	r.t.Helper()
	for _, s := range steps {
		switch {
		case s.open:
			r.open(netip.AddrPortFrom(s.p.Src, s.p.SrcPort).String(), netip.AddrPortFrom(s.p.Dst, s.p.DstPort).String(), s.dest)
		case s.dest != "":
			r.forwardTo(s.p, s.dest)
		default:
			r.outcome(s.p, s.verdict, s.reason)
		}
	}
}

// TestConformanceTemplateKeys pins the template key and template
// destination of every case of ip_vs_core.c: ip_vs_sched_persist, the
// connection's destination port rule, and the service lookup order of
// ip_vs_ctl.c: ip_vs_service_find that decides which case applies.
func TestConformanceTemplateKeys(t *testing.T) {
	cases := []struct {
		name     string
		setup    func(r *rig)
		steps    []tplStep
		table    []string
		counters map[ipvs.ServiceKey]string
	}{
		{
			// ip_vs_sched_persist: dst_port == svc->port != 21 ->
			// <proto, caddr, 0, vaddr, vport> -> dest.addr:dest.port;
			// the template is reused, the scheduler not called (spec 8.2).
			name: "normal-port",
			setup: func(r *rig) {
				k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(60))
				r.addDest(k, "10.8.0.1:80")
				r.addDest(k, "10.8.0.2:80")
				r.addDest(k, "10.8.0.3:80")
			},
			steps: []tplStep{
				fwd(syn("10.9.0.1:40001", "10.0.0.1:80"), "10.8.0.3:80"),
				fwd(syn("10.9.0.1:40002", "10.0.0.1:80"), "10.8.0.3:80"),
				fwd(syn("10.9.0.2:40001", "10.0.0.1:80"), "10.8.0.2:80"),
				fwd(syn("10.9.0.3:40001", "10.0.0.1:80"), "10.8.0.1:80"),
				fwd(syn("10.9.0.4:40001", "10.0.0.1:80"), "10.8.0.3:80"),
				fwd(syn("10.9.0.1:40003", "10.0.0.1:80"), "10.8.0.3:80"),
			},
			table: []string{
				"TCP NONE 10.9.0.1:0 10.0.0.1:80 10.8.0.3:80",
				"TCP NONE 10.9.0.2:0 10.0.0.1:80 10.8.0.2:80",
				"TCP NONE 10.9.0.3:0 10.0.0.1:80 10.8.0.1:80",
				"TCP NONE 10.9.0.4:0 10.0.0.1:80 10.8.0.3:80",
				"TCP SYN_RECV 10.9.0.1:40001 10.0.0.1:80 10.8.0.3:80",
				"TCP SYN_RECV 10.9.0.1:40002 10.0.0.1:80 10.8.0.3:80",
				"TCP SYN_RECV 10.9.0.1:40003 10.0.0.1:80 10.8.0.3:80",
				"TCP SYN_RECV 10.9.0.2:40001 10.0.0.1:80 10.8.0.2:80",
				"TCP SYN_RECV 10.9.0.3:40001 10.0.0.1:80 10.8.0.1:80",
				"TCP SYN_RECV 10.9.0.4:40001 10.0.0.1:80 10.8.0.3:80",
			},
			counters: map[ipvs.ServiceKey]string{
				tcpSvc("10.0.0.1:80"): "10.8.0.3:80 4/0/2, 10.8.0.2:80 1/0/1, 10.8.0.1:80 1/0/1",
			},
		},
		{
			// ip_vs_sched_persist: the template keeps the dest's port,
			// and the connection uses it (dst_port == svc->port) (spec 8.9).
			name: "normal-port-dest-port-kept",
			setup: func(r *rig) {
				k := r.addSvc(tcpSvc("10.0.0.1:82"), "rr", persist(60))
				r.addDest(k, "10.8.0.9:8082")
			},
			steps: []tplStep{fwd(syn("10.9.2.1:2001", "10.0.0.1:82"), "10.8.0.9:8082")},
			table: []string{
				"TCP NONE 10.9.2.1:0 10.0.0.1:82 10.8.0.9:8082",
				"TCP SYN_RECV 10.9.2.1:2001 10.0.0.1:82 10.8.0.9:8082",
			},
		},
		{
			// ip_vs_sched_persist else-branch: port-zero service ->
			// <TCP, caddr, 0, vaddr, 0> -> dest.addr:0, one template for
			// every port; the connection keeps the packet's port, the dest
			// port (8080) is ignored (transcript 004).
			name: "port-zero-tcp",
			setup: func(r *rig) {
				k := r.addSvc(tcpSvc("10.0.0.2:0"), "rr", persist(60))
				r.addDest(k, "10.8.0.3:8080")
				r.addDest(k, "10.8.0.4:0")
			},
			steps: []tplStep{
				fwd(syn("10.9.2.1:5000", "10.0.0.2:80"), "10.8.0.4:80"),
				fwd(syn("10.9.2.1:5001", "10.0.0.2:443"), "10.8.0.4:443"),
				fwd(syn("10.9.2.2:5000", "10.0.0.2:22"), "10.8.0.3:22"),
				fwd(syn("10.9.2.2:5001", "10.0.0.2:8080"), "10.8.0.3:8080"),
				fwd(syn("10.9.2.3:5000", "10.0.0.2:80"), "10.8.0.4:80"),
				// ip_vs_service_find: the TCP port-zero service does not catch UDP.
				refused(udpPkt("10.9.2.1:5002", "10.0.0.2:53"), ipvs.VerdictAccept, ipvs.ReasonNoService),
			},
			table: []string{
				"TCP NONE 10.9.2.1:0 10.0.0.2:0 10.8.0.4:0",
				"TCP NONE 10.9.2.2:0 10.0.0.2:0 10.8.0.3:0",
				"TCP NONE 10.9.2.3:0 10.0.0.2:0 10.8.0.4:0",
				"TCP SYN_RECV 10.9.2.1:5000 10.0.0.2:80 10.8.0.4:80",
				"TCP SYN_RECV 10.9.2.1:5001 10.0.0.2:443 10.8.0.4:443",
				"TCP SYN_RECV 10.9.2.2:5000 10.0.0.2:22 10.8.0.3:22",
				"TCP SYN_RECV 10.9.2.2:5001 10.0.0.2:8080 10.8.0.3:8080",
				"TCP SYN_RECV 10.9.2.3:5000 10.0.0.2:80 10.8.0.4:80",
			},
			counters: map[ipvs.ServiceKey]string{
				tcpSvc("10.0.0.2:0"): "10.8.0.4:0 3/0/2, 10.8.0.3:8080 2/0/1",
			},
		},
		{
			// ip_vs_sched_persist else-branch for UDP; UDP connections are
			// always inactive (udp_state_transition) (transcript 005).
			name: "port-zero-udp",
			setup: func(r *rig) {
				k := r.addSvc(udpSvc("10.0.0.2:0"), "rr", persist(60))
				r.addDest(k, "10.8.0.5:0")
				r.addDest(k, "10.8.0.6:5353")
			},
			steps: []tplStep{
				fwd(udpPkt("10.9.3.1:5000", "10.0.0.2:53"), "10.8.0.6:53"),
				fwd(udpPkt("10.9.3.1:5001", "10.0.0.2:123"), "10.8.0.6:123"),
				fwd(udpPkt("10.9.3.2:5000", "10.0.0.2:53"), "10.8.0.5:53"),
				fwd(udpPkt("10.9.3.2:5000", "10.0.0.2:53"), "10.8.0.5:53"),
				fwd(udpPkt("10.9.3.3:5000", "10.0.0.2:161"), "10.8.0.6:161"),
				refused(syn("10.9.3.1:5002", "10.0.0.2:80"), ipvs.VerdictAccept, ipvs.ReasonNoService),
			},
			table: []string{
				"UDP NONE 10.9.3.1:0 10.0.0.2:0 10.8.0.6:0",
				"UDP NONE 10.9.3.2:0 10.0.0.2:0 10.8.0.5:0",
				"UDP NONE 10.9.3.3:0 10.0.0.2:0 10.8.0.6:0",
				"UDP UDP 10.9.3.1:5000 10.0.0.2:53 10.8.0.6:53",
				"UDP UDP 10.9.3.1:5001 10.0.0.2:123 10.8.0.6:123",
				"UDP UDP 10.9.3.2:5000 10.0.0.2:53 10.8.0.5:53",
				"UDP UDP 10.9.3.3:5000 10.0.0.2:161 10.8.0.6:161",
			},
			counters: map[ipvs.ServiceKey]string{
				udpSvc("10.0.0.2:0"): "10.8.0.6:5353 0/3/2, 10.8.0.5:0 0/1/1",
			},
		},
		{
			// ip_vs_sched_persist: FTP control (dst_port == svc->port == 21)
			// and FTP data reached through ip_vs_service_find's port-21
			// fallback share <TCP, caddr, 0, vaddr, 0> -> dest.addr:0; the
			// data connection keeps its port (spec 8.7).
			name: "ftp-control-and-data",
			setup: func(r *rig) {
				k := r.addSvc(tcpSvc("10.0.0.1:21"), "rr", persist(100))
				r.addDest(k, "10.8.0.5:21")
				r.addDest(k, "10.8.0.6:21")
			},
			steps: []tplStep{
				fwd(syn("10.9.3.1:3000", "10.0.0.1:21"), "10.8.0.6:21"),
				fwd(syn("10.9.3.1:3001", "10.0.0.1:2121"), "10.8.0.6:2121"),
				fwd(syn("10.9.3.2:3002", "10.0.0.1:2121"), "10.8.0.5:2121"),
			},
			table: []string{
				"TCP NONE 10.9.3.1:0 10.0.0.1:0 10.8.0.6:0",
				"TCP NONE 10.9.3.2:0 10.0.0.1:0 10.8.0.5:0",
				"TCP SYN_RECV 10.9.3.1:3000 10.0.0.1:21 10.8.0.6:21",
				"TCP SYN_RECV 10.9.3.1:3001 10.0.0.1:2121 10.8.0.6:2121",
				"TCP SYN_RECV 10.9.3.2:3002 10.0.0.1:2121 10.8.0.5:2121",
			},
		},
		{
			// ip_vs_service_find: the port-21 fallback applies to TCP only,
			// for dport 20 and dport >= ip_unprivileged_port_start (1024);
			// a UDP port-21 service gets the FTP template too, since
			// ip_vs_sched_persist only compares svc->port with 21
			// (transcript 008).
			name: "ftp-fallback-boundaries",
			setup: func(r *rig) {
				k := r.addSvc(tcpSvc("10.0.0.1:21"), "rr", persist(100))
				r.addDest(k, "10.8.0.7:21")
				r.addDest(k, "10.8.0.8:21")
				u := r.addSvc(udpSvc("10.0.0.2:21"), "rr", persist(100))
				r.addDest(u, "10.8.0.9:21")
			},
			steps: []tplStep{
				refused(syn("10.9.4.1:4000", "10.0.0.1:1023"), ipvs.VerdictAccept, ipvs.ReasonNoService),
				fwd(syn("10.9.4.2:4000", "10.0.0.1:1024"), "10.8.0.8:1024"),
				refused(syn("10.9.4.3:4000", "10.0.0.1:80"), ipvs.VerdictAccept, ipvs.ReasonNoService),
				fwd(syn("10.9.4.4:4000", "10.0.0.1:20"), "10.8.0.7:20"),
				fwd(syn("10.9.4.5:4000", "10.0.0.1:65535"), "10.8.0.8:65535"),
				refused(udpPkt("10.9.4.6:4000", "10.0.0.2:2121"), ipvs.VerdictAccept, ipvs.ReasonNoService),
				fwd(udpPkt("10.9.4.6:4001", "10.0.0.2:21"), "10.8.0.9:21"),
			},
			table: []string{
				"TCP NONE 10.9.4.2:0 10.0.0.1:0 10.8.0.8:0",
				"TCP NONE 10.9.4.4:0 10.0.0.1:0 10.8.0.7:0",
				"TCP NONE 10.9.4.5:0 10.0.0.1:0 10.8.0.8:0",
				"TCP SYN_RECV 10.9.4.2:4000 10.0.0.1:1024 10.8.0.8:1024",
				"TCP SYN_RECV 10.9.4.4:4000 10.0.0.1:20 10.8.0.7:20",
				"TCP SYN_RECV 10.9.4.5:4000 10.0.0.1:65535 10.8.0.8:65535",
				"UDP NONE 10.9.4.6:0 10.0.0.2:0 10.8.0.9:0",
				"UDP UDP 10.9.4.6:4001 10.0.0.2:21 10.8.0.9:21",
			},
			counters: map[ipvs.ServiceKey]string{
				tcpSvc("10.0.0.1:21"): "10.8.0.8:21 2/0/2, 10.8.0.7:21 1/0/1",
				udpSvc("10.0.0.2:21"): "10.8.0.9:21 0/1/1",
			},
		},
		{
			// ip_vs_sched_persist fwmark key <IPPROTO_IP, caddr, 0,
			// htonl(fwmark), 0> -> dest.addr:0: one template for every VIP
			// under the mark; the dest port is ignored (transcript 009).
			name: "fwmark-several-vips",
			setup: func(r *rig) {
				k := r.addSvc(fwmSvc(3), "rr", persist(60))
				r.addDest(k, "10.8.0.1:8080")
				r.addDest(k, "10.8.0.2:0")
			},
			steps: []tplStep{
				fwd(marked(syn("10.9.0.1:40001", "10.0.0.1:80"), 3), "10.8.0.2:80"),
				fwd(marked(syn("10.9.0.1:40002", "10.0.0.2:443"), 3), "10.8.0.2:443"),
				fwd(marked(syn("10.9.0.1:40003", "10.0.0.3:80"), 3), "10.8.0.2:80"),
				fwd(marked(syn("10.9.0.2:40001", "10.0.0.3:443"), 3), "10.8.0.1:443"),
				fwd(marked(syn("10.9.0.2:40002", "10.0.0.1:80"), 3), "10.8.0.1:80"),
				fwd(marked(syn("10.9.0.3:40001", "10.0.0.1:80"), 3), "10.8.0.2:80"),
				refused(syn("10.9.0.3:40002", "10.0.0.1:22"), ipvs.VerdictAccept, ipvs.ReasonNoService),
			},
			table: []string{
				"IP NONE 10.9.0.1:0 0.0.0.3:0 10.8.0.2:0",
				"IP NONE 10.9.0.2:0 0.0.0.3:0 10.8.0.1:0",
				"IP NONE 10.9.0.3:0 0.0.0.3:0 10.8.0.2:0",
				"TCP SYN_RECV 10.9.0.1:40001 10.0.0.1:80 10.8.0.2:80",
				"TCP SYN_RECV 10.9.0.1:40002 10.0.0.2:443 10.8.0.2:443",
				"TCP SYN_RECV 10.9.0.1:40003 10.0.0.3:80 10.8.0.2:80",
				"TCP SYN_RECV 10.9.0.2:40001 10.0.0.3:443 10.8.0.1:443",
				"TCP SYN_RECV 10.9.0.2:40002 10.0.0.1:80 10.8.0.1:80",
				"TCP SYN_RECV 10.9.0.3:40001 10.0.0.1:80 10.8.0.2:80",
			},
			counters: map[ipvs.ServiceKey]string{
				fwmSvc(3): "10.8.0.2:0 4/0/2, 10.8.0.1:8080 2/0/1",
			},
		},
		{
			// ip_vs_sched_persist fwmark key: TCP and UDP under one mark
			// share the protocol-IP template; ip_vs_service_find ignores
			// the protocol for marked packets (transcript 010).
			name: "fwmark-tcp-udp",
			setup: func(r *rig) {
				k := r.addSvc(fwmSvc(5), "rr", persist(60))
				r.addDest(k, "10.8.0.4:8080")
				r.addDest(k, "10.8.0.5:8080")
			},
			steps: []tplStep{
				fwd(marked(syn("10.9.3.1:6000", "10.0.0.3:80"), 5), "10.8.0.5:80"),
				fwd(marked(udpPkt("10.9.3.1:6001", "10.0.0.3:53"), 5), "10.8.0.5:53"),
				fwd(marked(udpPkt("10.9.3.2:6000", "10.0.0.3:53"), 5), "10.8.0.4:53"),
				fwd(marked(syn("10.9.3.2:6001", "10.0.0.3:80"), 5), "10.8.0.4:80"),
				refused(udpPkt("10.9.3.3:6000", "10.0.0.3:54"), ipvs.VerdictAccept, ipvs.ReasonNoService),
			},
			table: []string{
				"IP NONE 10.9.3.1:0 0.0.0.5:0 10.8.0.5:0",
				"IP NONE 10.9.3.2:0 0.0.0.5:0 10.8.0.4:0",
				"TCP SYN_RECV 10.9.3.1:6000 10.0.0.3:80 10.8.0.5:80",
				"TCP SYN_RECV 10.9.3.2:6001 10.0.0.3:80 10.8.0.4:80",
				"UDP UDP 10.9.3.1:6001 10.0.0.3:53 10.8.0.5:53",
				"UDP UDP 10.9.3.2:6000 10.0.0.3:53 10.8.0.4:53",
			},
			counters: map[ipvs.ServiceKey]string{
				fwmSvc(5): "10.8.0.5:8080 1/1/1, 10.8.0.4:8080 1/1/1",
			},
		},
		{
			// ip_vs_sched_persist: snet = caddr & netmask (/24); wlc picks
			// for each new network; ip_vs_control_assure_ct marks the
			// templates ASSURED once their connections are ESTABLISHED
			// (spec 8.3).
			name: "netmask-24",
			setup: func(r *rig) {
				k := r.addSvc(tcpSvc("10.0.0.1:80"), "wlc", persist(30), netmask("255.255.255.0"))
				r.addDest(k, "10.8.0.1:80", weight(1))
				r.addDest(k, "10.8.0.2:80", weight(3))
			},
			steps: []tplStep{
				openTo("10.9.1.1:1000", "10.0.0.1:80", "10.8.0.2:80"),
				openTo("10.9.1.2:1000", "10.0.0.1:80", "10.8.0.2:80"),
				openTo("10.9.2.1:1000", "10.0.0.1:80", "10.8.0.1:80"),
				openTo("10.9.3.1:1000", "10.0.0.1:80", "10.8.0.2:80"),
			},
			table: []string{
				"TCP ASSURED 10.9.1.0:0 10.0.0.1:80 10.8.0.2:80",
				"TCP ASSURED 10.9.2.0:0 10.0.0.1:80 10.8.0.1:80",
				"TCP ASSURED 10.9.3.0:0 10.0.0.1:80 10.8.0.2:80",
				"TCP ESTABLISHED 10.9.1.1:1000 10.0.0.1:80 10.8.0.2:80",
				"TCP ESTABLISHED 10.9.1.2:1000 10.0.0.1:80 10.8.0.2:80",
				"TCP ESTABLISHED 10.9.2.1:1000 10.0.0.1:80 10.8.0.1:80",
				"TCP ESTABLISHED 10.9.3.1:1000 10.0.0.1:80 10.8.0.2:80",
			},
			counters: map[ipvs.ServiceKey]string{
				tcpSvc("10.0.0.1:80"): "10.8.0.2:80 3/0/2, 10.8.0.1:80 1/0/1",
			},
		},
		{
			// ip_vs_sched_persist: the netmask is applied bitwise, it need
			// not be contiguous: 255.0.255.0 (transcript 015).
			name: "netmask-non-contiguous",
			setup: func(r *rig) {
				k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(30), netmask("255.0.255.0"))
				r.addDest(k, "10.8.0.1:80")
				r.addDest(k, "10.8.0.2:80")
			},
			steps: []tplStep{
				fwd(syn("10.9.5.77:40001", "10.0.0.1:80"), "10.8.0.2:80"),
				fwd(syn("10.10.5.1:40001", "10.0.0.1:80"), "10.8.0.2:80"),
				fwd(syn("10.9.6.77:40001", "10.0.0.1:80"), "10.8.0.1:80"),
				fwd(syn("10.9.5.1:40002", "10.0.0.1:80"), "10.8.0.2:80"),
			},
			table: []string{
				"TCP NONE 10.0.5.0:0 10.0.0.1:80 10.8.0.2:80",
				"TCP NONE 10.0.6.0:0 10.0.0.1:80 10.8.0.1:80",
				"TCP SYN_RECV 10.10.5.1:40001 10.0.0.1:80 10.8.0.2:80",
				"TCP SYN_RECV 10.9.5.1:40002 10.0.0.1:80 10.8.0.2:80",
				"TCP SYN_RECV 10.9.5.77:40001 10.0.0.1:80 10.8.0.2:80",
				"TCP SYN_RECV 10.9.6.77:40001 10.0.0.1:80 10.8.0.1:80",
			},
		},
		{
			// ip_vs_sched_persist: IPv6 snet = ipv6_addr_prefix(caddr, plen):
			// clients of one /64 share a template.
			name: "ipv6-prefix-64",
			setup: func(r *rig) {
				k := r.addSvc(tcpSvc("[2001:db8::1]:80"), "rr", persist(60), netmask("64"))
				r.addDest(k, "[2001:db8:8::1]:80")
				r.addDest(k, "[2001:db8:8::2]:80")
			},
			steps: []tplStep{
				fwd(syn("[2001:db8:9:1::a]:1000", "[2001:db8::1]:80"), "[2001:db8:8::2]:80"),
				fwd(syn("[2001:db8:9:1:ffff::b]:1000", "[2001:db8::1]:80"), "[2001:db8:8::2]:80"),
				fwd(syn("[2001:db8:9:2::a]:1000", "[2001:db8::1]:80"), "[2001:db8:8::1]:80"),
				fwd(syn("[2001:db8:9:1::c]:1001", "[2001:db8::1]:80"), "[2001:db8:8::2]:80"),
			},
			table: []string{
				"TCP NONE [2001:db8:9:1::]:0 [2001:db8::1]:80 [2001:db8:8::2]:80",
				"TCP NONE [2001:db8:9:2::]:0 [2001:db8::1]:80 [2001:db8:8::1]:80",
				"TCP SYN_RECV [2001:db8:9:1::a]:1000 [2001:db8::1]:80 [2001:db8:8::2]:80",
				"TCP SYN_RECV [2001:db8:9:1:ffff::b]:1000 [2001:db8::1]:80 [2001:db8:8::2]:80",
				"TCP SYN_RECV [2001:db8:9:1::c]:1001 [2001:db8::1]:80 [2001:db8:8::2]:80",
				"TCP SYN_RECV [2001:db8:9:2::a]:1000 [2001:db8::1]:80 [2001:db8:8::1]:80",
			},
			counters: map[ipvs.ServiceKey]string{
				tcpSvc("[2001:db8::1]:80"): "[2001:db8:8::2]:80 3/0/1, [2001:db8:8::1]:80 1/0/1",
			},
		},
		{
			// ip_vs_sched_persist with a UDP service; UDP connections are
			// inactive (ip_vs_proto_udp.c) (spec 8.40).
			name: "udp-template",
			setup: func(r *rig) {
				k := r.addSvc(udpSvc("10.0.0.3:53"), "rr", persist(50))
				r.addDest(k, "10.8.0.12:53")
				r.addDest(k, "10.8.0.13:53")
			},
			steps: []tplStep{
				fwd(udpPkt("10.9.6.1:5000", "10.0.0.3:53"), "10.8.0.13:53"),
				fwd(udpPkt("10.9.6.1:5001", "10.0.0.3:53"), "10.8.0.13:53"),
			},
			table: []string{
				"UDP NONE 10.9.6.1:0 10.0.0.3:53 10.8.0.13:53",
				"UDP UDP 10.9.6.1:5000 10.0.0.3:53 10.8.0.13:53",
				"UDP UDP 10.9.6.1:5001 10.0.0.3:53 10.8.0.13:53",
			},
			counters: map[ipvs.ServiceKey]string{
				udpSvc("10.0.0.3:53"): "10.8.0.13:53 0/2/1, 10.8.0.12:53 0/0/0",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, nil)
			tc.setup(r)
			r.run(tc.steps)
			r.wantTable(tc.table...)
			for k, want := range tc.counters {
				r.wantCounters(k, want)
			}
		})
	}
}

// rule is one conformance rule: its name and a test body.
type rule struct {
	name string
	run  func(t *testing.T)
}

func runRules(t *testing.T, rules []rule) {
	for _, rl := range rules {
		t.Run(rl.name, rl.run)
	}
}

// TestConformanceTemplateValidity pins ip_vs_conn.c: ip_vs_check_template:
// when a template is reused and when it is invalidated (re-keyed to port
// 65535, its timer untouched) and a new one scheduled.
func TestConformanceTemplateValidity(t *testing.T) {
	runRules(t, []rule{
		{"dest-deleted-template-rekeyed", func(t *testing.T) {
			// ip_vs_check_template: dest not AVAILABLE -> invalidate
			// (vport/dport 65535, cport 0) without restarting its timer;
			// the old connection stays; its packets are dropped by
			// ip_vs_in_hook "Check the server status" (transcript 053).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.3:8000"), "rr", persist(100))
			r.addDest(k, "10.8.0.16:8000")
			r.addDest(k, "10.8.0.17:8000")
			r.forwardTo(syn("10.9.8.1:8001", "10.0.0.3:8000"), "10.8.0.17:8000")
			r.at(2)
			r.delDest(k, "10.8.0.17:8000")
			r.forwardTo(syn("10.9.8.1:8002", "10.0.0.3:8000"), "10.8.0.16:8000")
			r.outcome(syn("10.9.8.1:8001", "10.0.0.3:8000"), ipvs.VerdictDrop, ipvs.ReasonDestUnavailable)
			r.wantTable(
				"TCP NONE 10.9.8.1:0 10.0.0.3:65535 10.8.0.17:65535",
				"TCP NONE 10.9.8.1:0 10.0.0.3:8000 10.8.0.16:8000",
				"TCP SYN_RECV 10.9.8.1:8001 10.0.0.3:8000 10.8.0.17:8000",
				"TCP SYN_RECV 10.9.8.1:8002 10.0.0.3:8000 10.8.0.16:8000",
			)
			r.wantExpires("TCP NONE 10.9.8.1:0 10.0.0.3:65535 10.8.0.17:65535", 98*time.Second)
			r.wantExpires("TCP NONE 10.9.8.1:0 10.0.0.3:8000 10.8.0.16:8000", 100*time.Second)
			r.wantCounters(k, "10.8.0.16:8000 1/0/1")
		}},
		{"weight0-expire-quiescent-template-0-reused", func(t *testing.T) {
			// ip_vs_check_template with expire_quiescent_template=0: a
			// template to a weight-0 dest stays valid (spec 8.13,
			// transcript 051).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:81"), "rr", persist(100))
			r.addDest(k, "10.8.0.3:81")
			r.addDest(k, "10.8.0.4:81")
			r.forwardTo(syn("10.9.2.1:2000", "10.0.0.1:81"), "10.8.0.4:81")
			r.editDest(k, "10.8.0.4:81", weight(0))
			r.forwardTo(syn("10.9.2.1:2001", "10.0.0.1:81"), "10.8.0.4:81")
			r.forwardTo(syn("10.9.2.2:2000", "10.0.0.1:81"), "10.8.0.3:81")
			r.wantCounters(k, "10.8.0.4:81 2/0/1, 10.8.0.3:81 1/0/1")
		}},
		{"weight0-expire-quiescent-template-1-rekeyed", func(t *testing.T) {
			// ip_vs_check_template: expire_quiescent_template=1 and weight
			// 0 -> invalidate; PersistConn still counts the invalidated
			// template (transcript 052).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:81"), "rr", persist(100))
			r.addDest(k, "10.8.0.3:81")
			r.addDest(k, "10.8.0.4:81")
			r.forwardTo(syn("10.9.2.1:2000", "10.0.0.1:81"), "10.8.0.4:81")
			r.editDest(k, "10.8.0.4:81", weight(0))
			r.forwardTo(syn("10.9.2.1:2001", "10.0.0.1:81"), "10.8.0.4:81")
			r.settings(func(s *ipvs.Settings) { s.ExpireQuiescentTemplate = true })
			r.at(1)
			r.forwardTo(syn("10.9.2.1:2002", "10.0.0.1:81"), "10.8.0.3:81")
			r.forwardTo(syn("10.9.2.1:2003", "10.0.0.1:81"), "10.8.0.3:81")
			r.wantTable(
				"TCP NONE 10.9.2.1:0 10.0.0.1:65535 10.8.0.4:65535",
				"TCP NONE 10.9.2.1:0 10.0.0.1:81 10.8.0.3:81",
				"TCP SYN_RECV 10.9.2.1:2000 10.0.0.1:81 10.8.0.4:81",
				"TCP SYN_RECV 10.9.2.1:2001 10.0.0.1:81 10.8.0.4:81",
				"TCP SYN_RECV 10.9.2.1:2002 10.0.0.1:81 10.8.0.3:81",
				"TCP SYN_RECV 10.9.2.1:2003 10.0.0.1:81 10.8.0.3:81",
			)
			r.wantExpires("TCP NONE 10.9.2.1:0 10.0.0.1:65535 10.8.0.4:65535", 99*time.Second)
			r.wantCounters(k, "10.8.0.4:81 2/0/1, 10.8.0.3:81 2/0/1")
		}},
		{"overloaded-dest-template-reused", func(t *testing.T) {
			// ip_vs_check_template does not look at OVERLOAD: a client with
			// a template keeps going to a dest over its -x threshold, while
			// rr skips it for new clients (ip_vs_rr.c, ip_vs_bind_dest ->
			// ip_vs_dest_update_overload).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(60))
			r.addDest(k, "10.8.0.1:80")
			r.addDest(k, "10.8.0.2:80", thresholds(1, 0))
			r.forwardTo(syn("10.9.0.1:1001", "10.0.0.1:80"), "10.8.0.2:80")
			r.wantCounters(k, "10.8.0.2:80 1/0/1 O, 10.8.0.1:80 0/0/0")
			r.forwardTo(syn("10.9.0.1:1002", "10.0.0.1:80"), "10.8.0.2:80")
			r.forwardTo(syn("10.9.0.2:1001", "10.0.0.1:80"), "10.8.0.1:80")
			r.forwardTo(syn("10.9.0.3:1001", "10.0.0.1:80"), "10.8.0.1:80")
			r.wantCounters(k, "10.8.0.2:80 2/0/1 O, 10.8.0.1:80 2/0/2")
		}},
		{"service-port-65535-not-rekeyed", func(t *testing.T) {
			// ip_vs_check_template: a template whose vport is already 65535
			// is not re-keyed; the new template is found first
			// (ip_vs_ct_in_get walks newest first) (transcript 059).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:65535"), "rr", persist(60))
			r.addDest(k, "10.8.0.1:65535")
			r.addDest(k, "10.8.0.2:65535")
			r.forwardTo(syn("10.9.1.1:1000", "10.0.0.1:65535"), "10.8.0.2:65535")
			r.settings(func(s *ipvs.Settings) { s.ExpireQuiescentTemplate = true })
			r.editDest(k, "10.8.0.2:65535", weight(0))
			r.forwardTo(syn("10.9.1.1:1001", "10.0.0.1:65535"), "10.8.0.1:65535")
			r.forwardTo(syn("10.9.1.1:1002", "10.0.0.1:65535"), "10.8.0.1:65535")
			r.wantTable(
				"TCP NONE 10.9.1.1:0 10.0.0.1:65535 10.8.0.1:65535",
				"TCP NONE 10.9.1.1:0 10.0.0.1:65535 10.8.0.2:65535",
				"TCP SYN_RECV 10.9.1.1:1000 10.0.0.1:65535 10.8.0.2:65535",
				"TCP SYN_RECV 10.9.1.1:1001 10.0.0.1:65535 10.8.0.1:65535",
				"TCP SYN_RECV 10.9.1.1:1002 10.0.0.1:65535 10.8.0.1:65535",
			)
			r.wantCounters(k, "10.8.0.2:65535 1/0/1, 10.8.0.1:65535 2/0/1")
		}},
		{"dest-readded-before-use-template-valid", func(t *testing.T) {
			// ip_vs_check_template only checks AVAILABLE at use: a dest
			// re-added from the trash (ip_vs_trash_get_dest) before the
			// template was looked up makes it valid again (spec 3.11).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(60))
			r.addDest(k, "10.8.0.1:80")
			r.addDest(k, "10.8.0.2:80")
			r.forwardTo(syn("10.9.0.1:1001", "10.0.0.1:80"), "10.8.0.2:80")
			r.delDest(k, "10.8.0.2:80")
			r.addDest(k, "10.8.0.2:80")
			r.forwardTo(syn("10.9.0.1:1002", "10.0.0.1:80"), "10.8.0.2:80")
			r.wantTable(
				"TCP NONE 10.9.0.1:0 10.0.0.1:80 10.8.0.2:80",
				"TCP SYN_RECV 10.9.0.1:1001 10.0.0.1:80 10.8.0.2:80",
				"TCP SYN_RECV 10.9.0.1:1002 10.0.0.1:80 10.8.0.2:80",
			)
		}},
	})
}

// TestConformanceTemplateTimers pins the template lifetime: its timeout,
// its restart by new connections (ip_vs_sched_persist -> ip_vs_conn_put(ct))
// and the permanent 60 s re-arm while it controls connections
// (ip_vs_conn.c: ip_vs_conn_expire, expire_later). Entries disappear when
// their timer fires on the timer wheel (fires), up to one wheel granularity
// after the deadline their listing counts down to.
func TestConformanceTemplateTimers(t *testing.T) {
	runRules(t, []rule{
		{"template-expiry", func(t *testing.T) {
			// ip_vs_conn_expire: a template that controls nothing is freed
			// when its timer (the service timeout) fires; its connection
			// went first (UDP timeout 4 s).
			r := newRig(t, nil)
			if err := r.d.SetTimeouts(ipvs.Timeouts{UDP: 4 * time.Second}); err != nil {
				t.Fatal(err)
			}
			k := r.addSvc(udpSvc("10.0.0.3:53"), "rr", persist(10))
			r.addDest(k, "10.8.0.1:53")
			r.forwardTo(udpPkt("10.9.0.1:5000", "10.0.0.3:53"), "10.8.0.1:53")
			r.wantExpires("UDP NONE 10.9.0.1:0 10.0.0.3:53 10.8.0.1:53", 10*time.Second)
			r.wantExpires("UDP UDP 10.9.0.1:5000 10.0.0.3:53 10.8.0.1:53", 4*time.Second)
			r.at(3.999)
			r.wantCounters(k, "10.8.0.1:53 0/1/1")
			// At its deadline the connection's timer has not fired yet: it
			// is listed with 0 left until the end of its wheel bucket.
			r.at(4)
			r.wantExpires("UDP UDP 10.9.0.1:5000 10.0.0.3:53 10.8.0.1:53", 0)
			r.wantCounters(k, "10.8.0.1:53 0/1/1")
			r.atTime(fires(0, 4*time.Second))
			r.wantTable("UDP NONE 10.9.0.1:0 10.0.0.3:53 10.8.0.1:53")
			r.wantCounters(k, "10.8.0.1:53 0/0/1")
			r.at(9.999)
			r.wantExpires("UDP NONE 10.9.0.1:0 10.0.0.3:53 10.8.0.1:53", time.Millisecond)
			r.at(10)
			r.wantExpires("UDP NONE 10.9.0.1:0 10.0.0.3:53 10.8.0.1:53", 0)
			r.atTime(fires(0, 10*time.Second) - 1)
			r.wantTable("UDP NONE 10.9.0.1:0 10.0.0.3:53 10.8.0.1:53")
			r.atTime(fires(0, 10*time.Second))
			r.wantTable()
			r.wantCounters(k, "10.8.0.1:53 0/0/0")
			// A new datagram after expiry schedules afresh: a new template.
			r.forwardTo(udpPkt("10.9.0.1:5001", "10.0.0.3:53"), "10.8.0.1:53")
			r.wantExpires("UDP NONE 10.9.0.1:0 10.0.0.3:53 10.8.0.1:53", 10*time.Second)
		}},
		{"template-expiry-tcp-after-close", func(t *testing.T) {
			// ip_vs_conn_expire for TCP: a real-server RST closes the
			// connection (CLOSE, 10 s, tcp_states OUTPUT rst); the
			// template lives out its own timeout.
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(30))
			r.addDest(k, "10.8.0.1:80")
			r.forwardTo(syn("10.9.0.1:1000", "10.0.0.1:80"), "10.8.0.1:80")
			r.at(1)
			r.send(reply("10.8.0.1:80", "10.9.0.1:1000", ipvs.TCPRst))
			r.wantExpires("TCP CLOSE 10.9.0.1:1000 10.0.0.1:80 10.8.0.1:80", 10*time.Second)
			r.wantCounters(k, "10.8.0.1:80 0/1/1")
			r.at(11)
			r.wantExpires("TCP CLOSE 10.9.0.1:1000 10.0.0.1:80 10.8.0.1:80", 0)
			r.atTime(fires(1, 10*time.Second))
			r.wantTable("TCP NONE 10.9.0.1:0 10.0.0.1:80 10.8.0.1:80")
			r.wantCounters(k, "10.8.0.1:80 0/0/1")
			r.at(29.9)
			r.wantTable("TCP NONE 10.9.0.1:0 10.0.0.1:80 10.8.0.1:80")
			r.at(30)
			r.wantExpires("TCP NONE 10.9.0.1:0 10.0.0.1:80 10.8.0.1:80", 0)
			r.atTime(fires(0, 30*time.Second) - 1)
			r.wantTable("TCP NONE 10.9.0.1:0 10.0.0.1:80 10.8.0.1:80")
			r.atTime(fires(0, 30*time.Second))
			r.wantTable()
			r.wantCounters(k, "10.8.0.1:80 0/0/0")
		}},
		{"template-kept-alive-permanent-60s-rearm", func(t *testing.T) {
			// ip_vs_conn_expire expire_later: a template that still
			// controls a connection when its timer fires gets timeout 60 s,
			// and keeps it: later new connections restart it with 60 s,
			// not the service's 3 s (spec 8.11, transcript 018).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(3))
			r.addDest(k, "10.8.0.1:80")
			r.addDest(k, "10.8.0.2:80")
			r.forwardTo(syn("10.9.1.1:1000", "10.0.0.1:80"), "10.8.0.2:80")
			tpl := "TCP NONE 10.9.1.1:0 10.0.0.1:80 10.8.0.2:80"
			r.at(2.999)
			r.wantExpires(tpl, time.Millisecond)
			// The deadline passes; the timer fires at the end of its
			// bucket (f1) and re-arms the template for 60 s from then
			// (transcript 018: 57 s left 5.4 s after the connection).
			r.at(3)
			r.wantExpires(tpl, 0)
			f1 := fires(0, 3*time.Second)
			r.atTime(f1)
			r.wantExpires(tpl, 60*time.Second)
			r.at(5)
			r.wantExpires(tpl, f1.Add(60*time.Second).Sub(sec(5)))
			r.at(6)
			r.forwardTo(syn("10.9.1.1:1001", "10.0.0.1:80"), "10.8.0.2:80")
			r.wantExpires(tpl, 60*time.Second)
			// A fresh template of another client still uses 3 s.
			r.forwardTo(syn("10.9.1.2:1000", "10.0.0.1:80"), "10.8.0.1:80")
			r.wantExpires("TCP NONE 10.9.1.2:0 10.0.0.1:80 10.8.0.1:80", 3*time.Second)
			r.wantCounters(k, "10.8.0.2:80 2/0/1, 10.8.0.1:80 1/0/1")
			// The 1001 connection is refreshed to outlive the template's
			// deadline (66): when the template fires (f2) it still
			// controls it and is re-armed for 60 s (to fire at f3); the
			// connection goes at c2. The other client's template, re-armed
			// at g1 while its connection lived, goes at g2.
			r.at(10)
			r.forwardTo(syn("10.9.1.1:1001", "10.0.0.1:80"), "10.8.0.2:80")
			f2, c2 := fires(6, 60*time.Second), fires(10, 60*time.Second)
			f3 := ipvs.WheelFireTime(f2, 60*time.Second)
			g2 := ipvs.WheelFireTime(fires(6, 3*time.Second), 60*time.Second)
			if !(f2 < c2 && c2 < f3 && g2 < f3) {
				t.Fatalf("wheel times f2 %v c2 %v f3 %v g2 %v: the case needs f2 < c2 < f3 and g2 < f3", f2.Sub(0), c2.Sub(0), f3.Sub(0), g2.Sub(0))
			}
			r.at(66)
			r.wantExpires(tpl, 0)
			r.atTime(f2)
			r.wantExpires(tpl, 60*time.Second)
			r.atTime(max(c2, g2))
			r.wantTable(tpl)
			r.wantCounters(k, "10.8.0.2:80 0/0/1, 10.8.0.1:80 0/0/0")
			r.atTime(f3 - 1)
			r.wantTable(tpl)
			r.atTime(f3)
			r.wantTable()
			r.wantCounters(k, "10.8.0.2:80 0/0/0, 10.8.0.1:80 0/0/0")
		}},
		{"template-restarted-by-new-connections-not-packets", func(t *testing.T) {
			// ip_vs_sched_persist restarts the template's timer
			// (ip_vs_conn_put(ct)) for each new connection; packets of
			// existing connections only restart their own timer
			// (ip_vs_in_hook -> ip_vs_conn_put(cp)) (transcript 019).
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(20))
			r.addDest(k, "10.8.0.1:80")
			r.addDest(k, "10.8.0.2:80")
			tpl := "TCP NONE 10.9.1.1:0 10.0.0.1:80 10.8.0.2:80"
			r.forwardTo(syn("10.9.1.1:1000", "10.0.0.1:80"), "10.8.0.2:80")
			r.at(4)
			res := r.forwardTo(syn("10.9.1.1:1000", "10.0.0.1:80"), "10.8.0.2:80")
			if res.New {
				t.Fatal("retransmitted SYN created a connection")
			}
			r.wantExpires(tpl, 16*time.Second)
			r.wantExpires("TCP SYN_RECV 10.9.1.1:1000 10.0.0.1:80 10.8.0.2:80", 60*time.Second)
			r.send(reply("10.8.0.2:80", "10.9.1.1:1000", ipvs.TCPSyn|ipvs.TCPAck))
			r.forwardTo(ack("10.9.1.1:1000", "10.0.0.1:80"), "10.8.0.2:80")
			tpl = "TCP ASSURED 10.9.1.1:0 10.0.0.1:80 10.8.0.2:80"
			r.wantExpires(tpl, 16*time.Second)
			r.at(4.5)
			r.forwardTo(syn("10.9.1.1:1001", "10.0.0.1:80"), "10.8.0.2:80")
			r.wantExpires(tpl, 20*time.Second)
		}},
	})
}

// TestConformanceTimerWheelOrder pins the order in which timers that fire
// in the same wheel bucket run (kernel/time/timer.c: enqueue_timer adds at
// the head of the bucket, expire_timers runs it from the head, so the
// newest armed runs first) and what it means for a template
// (ip_vs_conn.c: ip_vs_conn_expire): a template armed just before its
// connection, with the same timeout, runs after it, controls nothing and is
// freed in the same tick; a template whose connection fires in another
// bucket, or that was armed after it in the same bucket, still controls
// it and is re-armed for 60 s (transcript 110).
func TestConformanceTimerWheelOrder(t *testing.T) {
	const (
		tpl  = "UDP NONE 10.9.0.1:0 10.0.0.3:53 10.8.0.1:53"
		conn = "UDP UDP 10.9.0.1:5000 10.0.0.3:53 10.8.0.1:53"
	)
	// udpRig: persistence 10 s and UDP timeout 10 s, so that a template and
	// the connection it schedules are armed for the same delay.
	udpRig := func(t *testing.T) (*rig, ipvs.ServiceKey) {
		r := newRig(t, nil)
		if err := r.d.SetTimeouts(ipvs.Timeouts{UDP: 10 * time.Second}); err != nil {
			t.Fatal(err)
		}
		k := r.addSvc(udpSvc("10.0.0.3:53"), "rr", persist(10))
		r.addDest(k, "10.8.0.1:53")
		return r, k
	}
	runRules(t, []rule{
		{"template-then-connection-same-bucket-freed-together", func(t *testing.T) {
			// ip_vs_sched_persist arms the template (ip_vs_conn_put(ct)),
			// then ip_vs_in_hook arms the connection: same bucket, the
			// connection runs first; the template then controls nothing
			// and is freed in the same tick, not re-armed for 60 s.
			r, k := udpRig(t)
			r.forwardTo(udpPkt("10.9.0.1:5000", "10.0.0.3:53"), "10.8.0.1:53")
			f := fires(0, 10*time.Second)
			r.at(10)
			r.wantExpires(tpl, 0)
			r.wantExpires(conn, 0)
			r.atTime(f - 1)
			r.wantTable(tpl, conn)
			r.wantCounters(k, "10.8.0.1:53 0/1/1")
			r.atTime(f)
			r.wantTable()
			r.wantCounters(k, "10.8.0.1:53 0/0/0")
		}},
		{"template-then-connection-same-bucket-tcp", func(t *testing.T) {
			// Transcript 110: a -p 60 template and its SYN_RECV connection
			// (60 s): 46 s left 13 s later, both gone at 64 s.
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.2:80"), "rr", persist(60))
			r.addDest(k, "10.8.0.2:80")
			r.forwardTo(syn("10.9.0.2:5000", "10.0.0.2:80"), "10.8.0.2:80")
			r.at(13)
			r.wantExpires("TCP NONE 10.9.0.2:0 10.0.0.2:80 10.8.0.2:80", 47*time.Second)
			r.wantExpires("TCP SYN_RECV 10.9.0.2:5000 10.0.0.2:80 10.8.0.2:80", 47*time.Second)
			f := fires(0, 60*time.Second)
			r.atTime(f - 1)
			r.wantCounters(k, "10.8.0.2:80 1/0/1")
			r.atTime(f)
			r.wantTable()
			r.wantCounters(k, "10.8.0.2:80 0/0/0")
			r.at(64)
			r.wantTable()
		}},
		{"connection-in-other-bucket-template-rearmed-60s", func(t *testing.T) {
			// A second datagram 1 s later moves the connection's timer to
			// a later bucket; the template's timer fires alone, still
			// controls the connection and is re-armed for 60 s
			// (expire_later); it is freed when that timer fires.
			r, k := udpRig(t)
			r.forwardTo(udpPkt("10.9.0.1:5000", "10.0.0.3:53"), "10.8.0.1:53")
			r.at(1)
			r.forwardTo(udpPkt("10.9.0.1:5000", "10.0.0.3:53"), "10.8.0.1:53")
			f, c := fires(0, 10*time.Second), fires(1, 10*time.Second)
			if !(f < c) {
				t.Fatalf("wheel times: template %v, connection %v: want the template's bucket first", f.Sub(0), c.Sub(0))
			}
			r.atTime(f)
			r.wantExpires(tpl, 60*time.Second)
			r.wantExpires(conn, sec(11).Sub(f))
			r.atTime(c)
			r.wantTable(tpl)
			r.wantExpires(tpl, f.Add(60*time.Second).Sub(c))
			r.wantCounters(k, "10.8.0.1:53 0/0/1")
			f2 := ipvs.WheelFireTime(f, 60*time.Second)
			r.atTime(f2 - 1)
			r.wantTable(tpl)
			r.atTime(f2)
			r.wantTable()
			r.wantCounters(k, "10.8.0.1:53 0/0/0")
		}},
		{"template-armed-after-connection-same-bucket-rearmed-60s", func(t *testing.T) {
			// At 1 s a datagram of the first connection moves its timer to
			// a new bucket, then a new connection of the same client
			// restarts the template (which moves to that bucket after it)
			// and is armed last. All three fire in one tick, newest first:
			// the new connection, then the template, which still controls
			// the first connection and is re-armed for 60 s, then the
			// first connection.
			r, k := udpRig(t)
			r.forwardTo(udpPkt("10.9.0.1:5000", "10.0.0.3:53"), "10.8.0.1:53")
			r.at(1)
			r.forwardTo(udpPkt("10.9.0.1:5000", "10.0.0.3:53"), "10.8.0.1:53")
			r.forwardTo(udpPkt("10.9.0.1:5001", "10.0.0.3:53"), "10.8.0.1:53")
			f := fires(1, 10*time.Second)
			if f == fires(0, 10*time.Second) {
				t.Fatalf("wheel time %v: the case needs the timers moved to another bucket at 1 s", f.Sub(0))
			}
			r.atTime(f - 1)
			r.wantTable(tpl, conn, "UDP UDP 10.9.0.1:5001 10.0.0.3:53 10.8.0.1:53")
			r.wantCounters(k, "10.8.0.1:53 0/2/1")
			r.atTime(f)
			r.wantTable(tpl)
			r.wantExpires(tpl, 60*time.Second)
			r.wantCounters(k, "10.8.0.1:53 0/0/1")
			r.atTime(ipvs.WheelFireTime(f, 60*time.Second))
			r.wantTable()
		}},
	})
}

// TestConformanceTimerWheelModTimer pins the two shortcuts of
// kernel/time/timer.c: __mod_timer for a pending timer: re-armed with the
// same expiry (jiffies) it returns at once and keeps its bucket, even when
// a bucket computed from the current clock would be another; re-armed to
// another wheel index (another level, even with the same bucket end) it is
// dequeued and enqueued at the head of the new bucket. Only when the index
// is the same does it keep its place.
func TestConformanceTimerWheelModTimer(t *testing.T) {
	runRules(t, []rule{
		{"same-expiry-keeps-bucket", func(t *testing.T) {
			// SYN_RECV (60 s) armed at 0, then at 50 a real-server RST:
			// CLOSE (10 s) gives the same expiry, 60 s. mod_timer returns
			// on !diff: the timer stays in its level-3 bucket, ending at
			// fires(0, 60 s), not the earlier level-2 bucket of a timer
			// armed at 50 for 10 s.
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr")
			r.addDest(k, "10.8.0.1:80")
			r.forwardTo(syn("10.9.0.1:1000", "10.0.0.1:80"), "10.8.0.1:80")
			r.at(50)
			r.send(reply("10.8.0.1:80", "10.9.0.1:1000", ipvs.TCPRst))
			kept, moved := fires(0, 60*time.Second), fires(50, 10*time.Second)
			if !(moved < kept) {
				t.Fatalf("wheel times %v, %v: the case needs a level-2 bucket ending first", kept.Sub(0), moved.Sub(0))
			}
			r.atTime(moved)
			r.wantExpires("TCP CLOSE 10.9.0.1:1000 10.0.0.1:80 10.8.0.1:80", 0)
			r.atTime(kept)
			r.wantTable()
		}},
		{"other-level-same-end-requeued", func(t *testing.T) {
			// A -p 60 template and its SYN_RECV connection share a level-3
			// bucket (connection newest). At 50.3 a real-server RST
			// re-arms the connection for 10 s (CLOSE): a level-2 bucket
			// ending at the same jiffy, another index, so it is moved
			// there. Higher levels run first: the template runs before the
			// connection, still controls it and is re-armed for 60 s.
			r := newRig(t, nil)
			k := r.addSvc(tcpSvc("10.0.0.1:80"), "rr", persist(60))
			r.addDest(k, "10.8.0.1:80")
			r.forwardTo(syn("10.9.0.1:1000", "10.0.0.1:80"), "10.8.0.1:80")
			r.at(50.3)
			r.send(reply("10.8.0.1:80", "10.9.0.1:1000", ipvs.TCPRst))
			f := fires(0, 60*time.Second)
			if moved := fires(50.3, 10*time.Second); moved != f {
				t.Fatalf("wheel times %v, %v: the case needs both buckets to end at the same jiffy", f.Sub(0), moved.Sub(0))
			}
			r.atTime(f)
			r.wantTable("TCP NONE 10.9.0.1:0 10.0.0.1:80 10.8.0.1:80")
			r.wantExpires("TCP NONE 10.9.0.1:0 10.0.0.1:80 10.8.0.1:80", 60*time.Second)
			r.wantCounters(k, "10.8.0.1:80 0/0/1")
		}},
	})
}
