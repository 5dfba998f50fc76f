package check

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/config"
	"github.com/golvs/golvs/ipvs"
	"golang.org/x/net/dns/dnsmessage"
)

const checkedYAML = `
services:
  - tcp: 192.0.2.10:80
    sorry_server: 192.0.2.250:8080
    quorum: 2
    hysteresis: 1
    servers:
      - address: 10.1.0.11:8080
        weight: 3
        check:
          type: http
          interval: 5s
          timeout: 2s
          retries: 3
          delay_before_retry: 500ms
          warmup: 4s
          virtualhost: www.example.test
          urls:
            - path: /healthz
              status: [200, "300-399"]
              digest: 9e107d9d372bb6826bd81d3542a419d6
      - address: 10.1.0.12:8080
        check:
          type: tcp
          inhibit_on_failure: true
      - address: 10.1.0.13
        check:
          type: https
          address: 10.9.0.13
          port: 8443
          urls: [{path: /}]
      - address: 10.1.0.14
  - udp: 192.0.2.53:53
    servers:
      - address: 10.1.0.21
        check:
          type: dns
          query_name: example.test.
          query_type: AAAA
      - address: 10.1.0.22
        check:
          type: udp
          payload: "0a0b"
          require_reply: "0c"
      - address: 10.1.0.23
        check:
          type: misc
          command: /usr/libexec/check --host '10.1.0.23 x'
          interval: 7s
          dynamic: true
  - tcp: 192.0.2.11:80
    servers:
      - address: 10.1.0.31
`

func TestFromConfig(t *testing.T) {
	cfg, err := config.Load(strings.NewReader(checkedYAML))
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := FromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(svcs) != 2 {
		t.Fatalf("%d services, want 2 (the one without checks is left out)", len(svcs))
	}
	web := svcs[0]
	if web.Key != cfg.Services[0].Key() || web.Quorum != 2 || web.Hysteresis != 1 ||
		web.SorryServer == nil || *web.SorryServer != (ipvs.DestConfig{Addr: netip.MustParseAddr("192.0.2.250"), Port: 8080, Method: ipvs.FwdMasq, Weight: 1}) {
		t.Errorf("web service %+v sorry %+v", web, web.SorryServer)
	}
	if len(web.Servers) != 4 {
		t.Fatalf("%d servers", len(web.Servers))
	}
	s0 := web.Servers[0]
	if s0.Dest.Weight != 3 || s0.Dest.Port != 8080 || s0.InhibitOnFailure {
		t.Errorf("server 0 %+v", s0)
	}
	c0 := s0.Check
	if c0.Interval != 5*time.Second || c0.Timeout != 2*time.Second || c0.Retries != 3 ||
		c0.DelayBeforeRetry != 500*time.Millisecond || c0.Warmup != 4*time.Second {
		t.Errorf("check 0 %+v", c0)
	}
	wantHTTP := &HTTP{Addr: netip.MustParseAddrPort("10.1.0.11:8080"), Host: "www.example.test", URLs: []URL{{
		Path: "/healthz", Status: []StatusRange{{200, 200}, {300, 399}}, Digest: "9e107d9d372bb6826bd81d3542a419d6",
	}}}
	if !reflect.DeepEqual(c0.Probe, wantHTTP) {
		t.Errorf("probe 0 %#v", c0.Probe)
	}
	s1 := web.Servers[1]
	if !s1.InhibitOnFailure || s1.Check.Interval != config.DefaultCheckInterval || s1.Check.Retries != config.DefaultCheckRetries ||
		!reflect.DeepEqual(s1.Check.Probe, &TCP{Addr: netip.MustParseAddrPort("10.1.0.12:8080")}) {
		t.Errorf("server 1 %+v check %+v", s1, s1.Check)
	}
	if p := web.Servers[2].Check.Probe.(*HTTP); !p.TLS || p.Addr != netip.MustParseAddrPort("10.9.0.13:8443") || web.Servers[2].Dest.Port != 80 {
		t.Errorf("server 2 probe %+v dest %+v", p, web.Servers[2].Dest)
	}
	if web.Servers[3].Check != nil {
		t.Errorf("server 3 has a check")
	}

	dns := svcs[1]
	if p := dns.Servers[0].Check.Probe; !reflect.DeepEqual(p, &DNS{Addr: netip.MustParseAddrPort("10.1.0.21:53"), Name: "example.test.", Type: dnsmessage.TypeAAAA}) {
		t.Errorf("dns probe %#v", p)
	}
	if p := dns.Servers[1].Check.Probe; !reflect.DeepEqual(p, &UDP{Addr: netip.MustParseAddrPort("10.1.0.22:53"), Payload: []byte{10, 11}, RequireReply: true, Reply: []byte{12}}) {
		t.Errorf("udp probe %#v", p)
	}
	mc := dns.Servers[2].Check
	if p := mc.Probe; !reflect.DeepEqual(p, &Command{Argv: []string{"/usr/libexec/check", "--host", "10.1.0.23 x"}, Dynamic: true}) {
		t.Errorf("misc probe %#v", p)
	}
	if mc.Timeout != 7*time.Second {
		t.Errorf("misc timeout %v, want the interval (keepalived's misc_timeout default)", mc.Timeout)
	}
}
