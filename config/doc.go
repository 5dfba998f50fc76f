// Package config reads golvsd's declarative YAML configuration, validates
// it completely, and turns it into the director's desired state and the
// smallest list of changes that reaches it.
//
// # Schema
//
//	control:
//	  socket: /run/golvs/golvs.sock  # golvsadm's Unix socket ("" = daemon default)
//	  listen: 127.0.0.1:9410          # optional TCP API (ip:port) ...
//	  token_file: /etc/golvs/token    # ... which then needs a bearer token
//	log_level: info                   # debug, info, warn, error
//	sysctl:                           # /proc/sys/net/ipv4/vs/NAME, checked as the kernel does
//	  expire_nodest_conn: 1
//	timeouts:                         # ipvsadm --set; omitted = kernel default
//	  tcp: 15m                        # Go durations or seconds, 1s..2678400s
//	  tcpfin: 2m
//	  udp: 300
//	max_conns: 1000000                # connection table bound, 0 = none
//	services:
//	  - tcp: 192.0.2.10:80            # or udp:, sctp: "addr:port" ("[v6]:port"),
//	                                  # or fwmark: N (with ipv6: true for IPv6)
//	    scheduler: sh                 # kernel name; default wlc (as ipvsadm)
//	    persistent: 600               # seconds 1..2678400, or true (= 360, ipvsadm -p)
//	    netmask: 255.255.255.0        # IPv4: dotted mask; IPv6: prefix length 1..128
//	    ops: false                    # one-packet scheduling (UDP and fwmark only)
//	    sched_flags: [sh-port]        # sh-fallback sh-port (sh), mh-fallback mh-port (mh), flag-1..3
//	    pe: sip                       # persistence engine
//	    mode: full-nat                # data plane: full-nat (default) or transparent
//	    proxy_protocol: v2            # none (default), v1, v2; TCP and fwmark services
//	    sorry_server: 192.0.2.250:80  # used below quorum; port defaults to the service's
//	    quorum: 2                     # total weight of alive servers needed (0 = 1)
//	    hysteresis: 1
//	    servers:
//	      - address: 10.1.0.11:8080   # "addr", "addr:port"; port defaults to the service's
//	        weight: 3                 # 0..2147483647, default 1; 0 quiesces
//	        method: masq              # masq (default), route, tunnel
//	        # tunnel: {type: gue, port: 6080, csum: remcsum}  # method tunnel only
//	        u_threshold: 500
//	        l_threshold: 400          # <= u_threshold
//	        check:
//	          type: http              # tcp, http, https, misc, udp, dns
//	          interval: 5s            # default 60s (keepalived's delay_loop)
//	          timeout: 2s             # default 5s
//	          retries: 3              # default 1
//	          delay_before_retry: 1s  # default 1s
//	          warmup: 10s
//	          inhibit_on_failure: true
//	          address: 10.1.0.11      # connect_ip; port: connect_port (not misc)
//	          urls:                   # http, https: at least one
//	            - path: /healthz
//	              status: [200, "300-399"]   # default 200-299
//	              digest: 9e107d9d372bb6826bd81d3542a419d6
//	          virtualhost: www.example.test  # http, https
//	          # misc: command, dynamic; dns: query_name, query_type;
//	          # udp: payload, require_reply (hex)
//
// Unknown fields are errors, as are repeated keys, merge keys (<<) and a
// second YAML document. Aliases are followed, within a budget of nodes.
// Every error is an [*Error] naming the line and the field path, for
// example
//
//	config: golvs.yaml: line 12: services[1].servers[0].weight: -3 is negative
//
// # Differences from ipvsadm's defaults
//
// The forwarding method defaults to masq, not ipvsadm's route: golvs's
// user-space data plane proxies connections, which is NAT. A route or
// tunnel server whose port differs from the service's is an error (ipvsadm
// silently replaces it). Timeouts that the file leaves out are reset to
// the kernel's defaults on every apply, where ipvsadm --set with 0 leaves
// them unchanged. Addresses are literal: no host or service names.
//
// # Applying
//
// [Load] validates everything the kernel or ipvsadm would refuse at apply
// time, schedulers included, so that a bad file changes nothing.
// [Config.Desired] gives the plain desired state, [Diff] the changes from
// the director's current services, and [Apply] makes them on a [Target]
// (a *ipvs.Director). An unchanged service gets no call at all, so its
// scheduler state and connections are untouched; a changed one is edited,
// never deleted and added again. [Config.IPVSSettings] and
// [Config.IPVSTimeouts] give the daemon-wide values.
//
// Health checks are parsed and validated here; running them belongs to
// the checker, which must lower failed servers' weights in the State
// before Diff.
package config
