package config

import (
	"errors"
	"strings"
	"testing"
)

// svc is a minimal valid service to build bad inputs around.
const svc = "services:\n  - tcp: 192.0.2.1:80\n    servers:\n"

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "config: empty document (write `services: []` for a configuration without services)"},
		{"syntax", "services: [\n", "config: line 1: did not find expected node content"},
		{"tab indent", "services:\n\t- tcp: 1.2.3.4:80\n", "config: line 2: found character that cannot start any token"},
		{"two documents", "services: []\n---\nservices: []\n", "config: line 2: more than one YAML document"},
		{"top not mapping", "- a\n", "config: line 1: must be a mapping, not a list"},
		{"unknown top field", "services: []\nservice: []\n", "config: line 2: service: unknown field"},
		{"duplicate key", "log_level: info\nlog_level: debug\nservices: []\n", "config: line 2: log_level: given twice (first on line 1)"},
		{"merge key", "base: &b {scheduler: rr}\nservices:\n  - <<: *b\n", "config: line 1: base: unknown field"},
		{"merge key in service", "services:\n  - <<: {scheduler: rr}\n    tcp: 192.0.2.1:80\n", "config: line 2: services[0]: merge keys (<<) are not supported"},
		{"log level", "log_level: verbose\nservices: []\n", `config: line 1: log_level: "verbose" is not one of debug, info, warn, error`},
		{"listen without token", "control:\n  listen: 127.0.0.1:9410\nservices: []\n", "config: line 1: control.listen: a TCP listener needs control.token_file"},
		{"listen host name", "control:\n  listen: localhost:9410\n", `config: line 2: control.listen: "localhost:9410" is not an ip:port address`},
		{"control unknown", "control:\n  sockett: /x\n", "config: line 2: control.sockett: unknown field"},
		{"socket empty", "control:\n  socket:\n", "config: line 2: control.socket: is empty"},
		{"sysctl unknown", "sysctl:\n  expire_nodest: 1\nservices: []\n", "config: line 2: sysctl.expire_nodest: unknown IPVS setting"},
		{"sysctl range", "sysctl:\n  conntrack: 1\n  secure_tcp: 5\n", "config: line 3: sysctl.secure_tcp: 5 out of range 0..3"},
		{"sysctl not a number", "sysctl:\n  sync_ports: [1]\n", "config: line 2: sysctl.sync_ports: must be a single value, not a list"},
		{"sysctl bad text", "sysctl:\n  conntrack: yes please\n", `config: line 2: sysctl.conntrack: "yes please" is not an integer`},
		{"timeout unknown", "timeouts:\n  tcp_fin: 10\n", "config: line 2: timeouts.tcp_fin: unknown field"},
		{"timeout bad", "timeouts:\n  tcp: soon\n", `config: line 2: timeouts.tcp: "soon" is not a duration (like 5s, 1m30s, or seconds)`},
		{"timeout fraction", "timeouts:\n  udp: 1.5s\n", "config: line 2: timeouts.udp: 1.5s is not a whole number of seconds"},
		{"timeout range", "timeouts:\n  udp: 745h\n", "config: line 2: timeouts.udp: 745h is out of range 1s..2678400s"},
		{"timeout negative", "timeouts:\n  tcp: -5\n", "config: line 2: timeouts.tcp: -5 is negative"},
		{"max conns", "max_conns: -1\n", "config: line 1: max_conns: -1 is negative"},
		{"max conns text", "max_conns: lots\n", `config: line 1: max_conns: "lots" is not an integer`},
		{"services not list", "services:\n  tcp: 192.0.2.1:80\n", "config: line 2: services: must be a list, not a mapping"},
		{"service without key", "services:\n  - scheduler: rr\n", "config: line 2: services[0]: needs one of tcp, udp, sctp, fwmark"},
		{"two keys", "services:\n  - tcp: 192.0.2.1:80\n    udp: 192.0.2.1:53\n", "config: line 3: services[0].udp: conflicts with tcp (a service has exactly one of tcp, udp, sctp, fwmark)"},
		{"no port", "services:\n  - tcp: 192.0.2.1\n", `config: line 2: services[0].tcp: "192.0.2.1" needs a port (addr:port, [addr]:port for IPv6)`},
		{"bare ipv6", "services:\n  - udp: 2001:db8::1\n", `config: line 2: services[0].udp: "2001:db8::1" needs a port (addr:port, [addr]:port for IPv6)`},
		{"host name", "services:\n  - tcp: www:80\n", `config: line 2: services[0].tcp: "www:80" is not an addr:port`},
		{"port range", "services:\n  - tcp: 192.0.2.1:65536\n", `config: line 2: services[0].tcp: "192.0.2.1:65536" is not an addr:port`},
		{"zone", "services:\n  - tcp: \"[fe80::1%eth0]:80\"\n", `config: line 2: services[0].tcp: "[fe80::1%eth0]:80": zones are not allowed`},
		{"fwmark zero", "services:\n  - fwmark: 0\n", "config: line 2: services[0].fwmark: 0 is out of range 1..4294967295"},
		{"fwmark big", "services:\n  - fwmark: 4294967296\n", "config: line 2: services[0].fwmark: 4294967296 is out of range 1..4294967295"},
		{"fwmark text", "services:\n  - fwmark: \"5\"\n", `config: line 2: services[0].fwmark: "5" is not an integer`},
		{"ipv6 on address", "services:\n  - tcp: 192.0.2.1:80\n    ipv6: true\n", "config: line 3: services[0].ipv6: only for fwmark services (an address gives its own family)"},
		{"ipv6 not bool", "services:\n  - fwmark: 1\n    ipv6: 1\n", "config: line 3: services[0].ipv6: 1 is not true or false"},
		{"port zero", "services:\n  - tcp: 192.0.2.1:0\n", "config: line 2: services[0].tcp: port 0 needs persistent (zero port specified for non-persistent service)"},
		{"unknown scheduler", "services:\n  - tcp: 192.0.2.1:80\n    scheduler: rrr\n", `config: line 3: services[0].scheduler: unknown scheduler "rrr" (known: dh, fo, lblc, lblcr, lc, mh, nq, ovf, rr, sed, sh, twos, wlc, wrr)`},
		{"long scheduler", "services:\n  - tcp: 192.0.2.1:80\n    scheduler: abcdefghijklmnop\n", `config: line 3: services[0].scheduler: "abcdefghijklmnop" is longer than 15 characters`},
		{"persistent zero", "services:\n  - tcp: 192.0.2.1:80\n    persistent: 0\n", "config: line 3: services[0].persistent: 0 is out of range 1..2678400"},
		{"persistent big", "services:\n  - tcp: 192.0.2.1:80\n    persistent: 2678401\n", "config: line 3: services[0].persistent: 2678401 is out of range 1..2678400"},
		{"persistent text", "services:\n  - tcp: 192.0.2.1:80\n    persistent: forever\n", `config: line 3: services[0].persistent: "forever" is not an integer`},
		{"netmask v4 prefix", "services:\n  - tcp: 192.0.2.1:80\n    netmask: 24\n", "config: line 3: services[0].netmask: 24 is not a dotted IPv4 mask"},
		{"netmask v4 bad", "services:\n  - tcp: 192.0.2.1:80\n    netmask: 255.255.256.0\n", `config: line 3: services[0].netmask: "255.255.256.0" is not a dotted IPv4 mask`},
		{"netmask v6 dotted", "services:\n  - tcp: \"[2001:db8::1]:80\"\n    netmask: 255.255.255.0\n", `config: line 3: services[0].netmask: "255.255.255.0" is not a prefix length (an IPv6 service takes 1..128)`},
		{"netmask v6 range", "services:\n  - fwmark: 3\n    ipv6: true\n    netmask: 129\n", "config: line 4: services[0].netmask: 129 is out of range 1..128"},
		{"netmask v6 zero", "services:\n  - fwmark: 3\n    netmask: 0\n    ipv6: true\n", "config: line 3: services[0].netmask: 0 is out of range 1..128"},
		{"ops tcp", "services:\n  - tcp: 192.0.2.1:80\n    ops: true\n", "config: line 3: services[0].ops: one-packet scheduling is only for UDP and fwmark services"},
		{"sched flag unknown", "services:\n  - tcp: 192.0.2.1:80\n    sched_flags: [flag-1, fast]\n", `config: line 3: services[0].sched_flags[1]: unknown flag "fast" (known: sh-fallback, sh-port, mh-fallback, mh-port, flag-1, flag-2, flag-3)`},
		{"sched flag scheduler", "services:\n  - tcp: 192.0.2.1:80\n    sched_flags:\n      - mh-port\n", "config: line 4: services[0].sched_flags[0]: mh-port needs scheduler mh"},
		{"sched flag repeat", "services:\n  - tcp: 192.0.2.1:80\n    scheduler: sh\n    sched_flags: [sh-port, flag-2]\n", "config: line 4: services[0].sched_flags[1]: flag-2 repeats a flag given before"},
		{"sched flags string", "services:\n  - tcp: 192.0.2.1:80\n    sched_flags: sh-port\n", `config: line 3: services[0].sched_flags: must be a list, not "sh-port"`},
		{"pe", "services:\n  - udp: 192.0.2.1:5060\n    pe: sipp\n", `config: line 3: services[0].pe: unknown persistence engine "sipp" (known: sip)`},
		{"sorry family", "services:\n  - tcp: 192.0.2.1:80\n    sorry_server: \"[2001:db8::9]:80\"\n", "config: line 3: services[0].sorry_server: an IPv6 sorry server in an IPv4 service"},
		{"sorry multicast", "services:\n  - tcp: 192.0.2.1:80\n    sorry_server: 224.0.0.1\n", "config: line 3: services[0].sorry_server: 224.0.0.1 is not a unicast address"},
		{"quorum negative", "services:\n  - tcp: 192.0.2.1:80\n    quorum: -1\n", "config: line 3: services[0].quorum: -1 is negative"},
		{"mode", "services:\n  - tcp: 192.0.2.1:80\n    mode: dsr\n", `config: line 3: services[0].mode: "dsr" is not one of full-nat, transparent`},
		{"proxy version", "services:\n  - tcp: 192.0.2.1:80\n    proxy_protocol: v3\n", `config: line 3: services[0].proxy_protocol: "v3" is not one of none, v1, v2`},
		{"proxy udp", "services:\n  - udp: 192.0.2.1:53\n    proxy_protocol: v2\n", "config: line 3: services[0].proxy_protocol: the PROXY protocol needs a TCP or fwmark service"},
		{"duplicate service", "services:\n  - tcp: 192.0.2.1:80\n  - udp: 192.0.2.1:80\n  - tcp: 192.0.2.1:80\n", "config: line 4: services[2].tcp: 192.0.2.1:80 is already services[0]"},
		{"duplicate fwmark", "services:\n  - fwmark: 7\n  - fwmark: 7\n    ipv6: true\n  - fwmark: 7\n", "config: line 5: services[2].fwmark: 7 is already services[0]"},
		{"service unknown field", "services:\n  - tcp: 192.0.2.1:80\n    sheduler: rr\n", "config: line 3: services[0].sheduler: unknown field"},
		{"server no address", svc + "      - weight: 2\n", "config: line 4: services[0].servers[0]: needs an address"},
		{"server bad address", svc + "      - address: 10.0.0.1:http\n", `config: line 4: services[0].servers[0].address: "10.0.0.1:http" is not an address or addr:port`},
		{"server unknown field", svc + "      - address: 10.0.0.1\n        wieght: 2\n", "config: line 5: services[0].servers[0].wieght: unknown field"},
		{"weight negative", svc + "      - address: 10.0.0.1\n      - address: 10.0.0.2\n        weight: -3\n", "config: line 6: services[0].servers[1].weight: -3 is negative"},
		{"weight big", svc + "      - address: 10.0.0.1\n        weight: 2147483648\n", "config: line 5: services[0].servers[0].weight: 2147483648 is out of range 0..2147483647"},
		{"weight float", svc + "      - address: 10.0.0.1\n        weight: 1.5\n", "config: line 5: services[0].servers[0].weight: 1.5 is not an integer"},
		{"weight huge", svc + "      - address: 10.0.0.1\n        weight: 99999999999999999999\n", "config: line 5: services[0].servers[0].weight: 99999999999999999999 is not an integer"},
		{"method", svc + "      - address: 10.0.0.1\n        method: nat\n", `config: line 5: services[0].servers[0].method: "nat" is not one of masq, route, tunnel`},
		{"server multicast", svc + "      - address: 239.1.1.1\n", "config: line 4: services[0].servers[0].address: 239.1.1.1 is not a unicast address"},
		{"server unspecified", svc + "      - address: 0.0.0.0:80\n", "config: line 4: services[0].servers[0].address: 0.0.0.0 is not a unicast address"},
		{"server link-local v6", "services:\n  - tcp: \"[2001:db8::1]:80\"\n    servers:\n      - address: fe80::1\n", "config: line 4: services[0].servers[0].address: fe80::1 is link-local"},
		{"server family", svc + "      - address: 2001:db8::5\n", "config: line 4: services[0].servers[0].address: an IPv6 server in an IPv4 service needs method tunnel"},
		{"route port", svc + "      - address: 10.0.0.1:8080\n        method: route\n", "config: line 4: services[0].servers[0].address: port 8080 differs from the service port 80, which method route keeps"},
		{"duplicate server", svc + "      - address: 10.0.0.1\n      - address: 10.0.0.1:80\n", "config: line 5: services[0].servers[1].address: 10.0.0.1:80 is already servers[0]"},
		{"l above u", svc + "      - address: 10.0.0.1\n        u_threshold: 10\n        l_threshold: 20\n", "config: line 6: services[0].servers[0].l_threshold: 20 is above u_threshold 10"},
		{"l without u", svc + "      - address: 10.0.0.1\n        l_threshold: 5\n", "config: line 5: services[0].servers[0].l_threshold: 5 is above u_threshold 0"},
		{"u big", svc + "      - address: 10.0.0.1\n        u_threshold: 2147483648\n", "config: line 5: services[0].servers[0].u_threshold: 2147483648 is out of range 0..2147483647"},
		{"tunnel on masq", svc + "      - address: 10.0.0.1\n        tunnel: {type: gre}\n", "config: line 5: services[0].servers[0].tunnel: only for method tunnel"},
		{"gue without port", svc + "      - address: 10.0.0.1\n        method: tunnel\n        tunnel:\n          type: gue\n", "config: line 6: services[0].servers[0].tunnel.port: a gue tunnel needs a port"},
		{"gre port", svc + "      - address: 10.0.0.1\n        method: tunnel\n        tunnel: {type: gre, port: 5}\n", "config: line 6: services[0].servers[0].tunnel.port: only for gue tunnels"},
		{"gre remcsum", svc + "      - address: 10.0.0.1\n        method: tunnel\n        tunnel:\n          type: gre\n          csum: remcsum\n", "config: line 8: services[0].servers[0].tunnel.csum: remcsum is not possible with gre"},
		{"ipip csum", svc + "      - address: 10.0.0.1\n        method: tunnel\n        tunnel: {csum: csum}\n", "config: line 6: services[0].servers[0].tunnel.csum: csum is not possible with ipip"},
		{"tunnel type", svc + "      - address: 10.0.0.1\n        method: tunnel\n        tunnel: {type: vxlan}\n", `config: line 6: services[0].servers[0].tunnel.type: "vxlan" is not one of ipip, gue, gre`},
		{"check no type", svc + "      - address: 10.0.0.1\n        check:\n          interval: 5s\n", "config: line 6: services[0].servers[0].check: needs a type (tcp, http, https, misc, udp, dns)"},
		{"check type", svc + "      - address: 10.0.0.1\n        check: {type: icmp}\n", `config: line 5: services[0].servers[0].check.type: "icmp" is not one of tcp, http, https, misc, udp, dns`},
		{"check unknown", svc + "      - address: 10.0.0.1\n        check:\n          type: tcp\n          connect_timeout: 3\n", "config: line 7: services[0].servers[0].check.connect_timeout: unknown field"},
		{"check interval", svc + "      - address: 10.0.0.1\n        check:\n          type: tcp\n          interval: -1s\n", `config: line 7: services[0].servers[0].check.interval: -1s is negative`},
		{"check retries", svc + "      - address: 10.0.0.1\n        check:\n          type: tcp\n          retries: -2\n", "config: line 7: services[0].servers[0].check.retries: -2 is negative"},
		{"check inhibit", svc + "      - address: 10.0.0.1\n        check:\n          type: tcp\n          inhibit_on_failure: yes\n", `config: line 7: services[0].servers[0].check.inhibit_on_failure: "yes" is not true or false`},
		{"http without url", svc + "      - address: 10.0.0.1\n        check:\n          type: http\n", "config: line 6: services[0].servers[0].check.urls: an http check needs at least one url"},
		{"url no path", svc + "      - address: 10.0.0.1\n        check:\n          type: http\n          urls:\n            - status: 200\n", "config: line 8: services[0].servers[0].check.urls[0]: needs a path"},
		{"url relative", svc + "      - address: 10.0.0.1\n        check:\n          type: http\n          urls: [{path: health}]\n", `config: line 7: services[0].servers[0].check.urls[0].path: "health" does not start with /`},
		{"url status", svc + "      - address: 10.0.0.1\n        check:\n          type: http\n          urls: [{path: /, status: [200, 700]}]\n", "config: line 7: services[0].servers[0].check.urls[0].status[1]: 700 is not a status code 100..599 or a range like 200-299"},
		{"url status range", svc + "      - address: 10.0.0.1\n        check:\n          type: http\n          urls: [{path: /, status: 299-200}]\n", `config: line 7: services[0].servers[0].check.urls[0].status: "299-200" is not a status code 100..599 or a range like 200-299`},
		{"url digest", svc + "      - address: 10.0.0.1\n        check:\n          type: https\n          urls:\n            - path: /\n              digest: abc\n", `config: line 9: services[0].servers[0].check.urls[0].digest: "abc" is not an MD5 digest (32 hex digits)`},
		{"urls on tcp", svc + "      - address: 10.0.0.1\n        check:\n          type: tcp\n          urls: [{path: /}]\n", "config: line 7: services[0].servers[0].check.urls: only for http and https checks, not tcp"},
		{"misc without command", svc + "      - address: 10.0.0.1\n        check:\n          type: misc\n          dynamic: true\n", "config: line 6: services[0].servers[0].check.command: a misc check needs a command"},
		{"misc port", svc + "      - address: 10.0.0.1\n        check:\n          type: misc\n          command: /bin/true\n          port: 80\n", "config: line 8: services[0].servers[0].check.port: only for tcp and http and https and udp and dns checks, not misc"},
		{"dynamic on tcp", svc + "      - address: 10.0.0.1\n        check: {type: tcp, dynamic: true}\n", "config: line 5: services[0].servers[0].check.dynamic: only for misc checks, not tcp"},
		{"dns type", svc + "      - address: 10.0.0.1\n        check:\n          type: dns\n          query_type: ANY\n", `config: line 7: services[0].servers[0].check.query_type: "ANY" is not one of A, NS, CNAME, SOA, MX, TXT, AAAA`},
		{"udp payload", svc + "      - address: 10.0.0.1\n        check:\n          type: udp\n          payload: hello\n", `config: line 7: services[0].servers[0].check.payload: "hello" is not hex bytes`},
		{"check port range", svc + "      - address: 10.0.0.1\n        check:\n          type: tcp\n          port: 0\n", "config: line 7: services[0].servers[0].check.port: 0 is out of range 1..65535"},
		{"check address", svc + "      - address: 10.0.0.1\n        check:\n          type: tcp\n          address: backend\n", `config: line 7: services[0].servers[0].check.address: "backend" is not an IP address`},
		{"alias", "services: &a\n  - tcp: 192.0.2.1:80\n    servers: *a\n", "config: line 2: services[0].servers[0].tcp: unknown field"},
		{"key not scalar", "? [a]\n: 1\n", "config: line 1: a key must be a plain name, not a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("Load succeeded, want %q", tt.want)
			}
			if c != nil {
				t.Errorf("Load returned a config with its error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
				t.Errorf("error %T is not an *Error wrapping ErrInvalid", err)
			}
		})
	}
}

// TestLoadAliasBudget: aliases may nest, so a small document can stand for
// a huge one; decoding stops at a budget of nodes.
func TestLoadAliasBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("services:\n  - tcp: 192.0.2.1:80\n    servers:\n      - address: 10.0.0.1\n        check:\n          type: http\n          urls: [")
	status := "&c 200" + strings.Repeat(", *c", 1100)
	b.WriteString("&u {path: /, status: [" + status + "]}")
	b.WriteString(strings.Repeat(", *u", 1100))
	b.WriteString("]\n")
	_, err := Load(strings.NewReader(b.String()))
	want := "config: line 7: services[0].servers[0].check.urls["
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "document too large after expanding aliases") {
		t.Fatalf("Load: %v, want %s...: document too large after expanding aliases", err, want)
	}
}
