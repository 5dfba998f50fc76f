package keepalived

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golvs/golvs/config"
	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
)

var update = flag.Bool("update", false, "rewrite the .golden files of testdata")

// render is what a golden file holds: the warnings as comments, then the
// configuration as YAML.
func render(t testing.TB, c *config.Config, warns []Warning) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("# Imported by the golvs keepalived importer; regenerate with go test -update.\n")
	for _, w := range warns {
		b.WriteString("# warning: " + w.String() + "\n")
	}
	y, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	b.Write(y)
	return b.Bytes()
}

// checkImported: an imported configuration is one the YAML loader reads
// back to the same thing, and applies to a director without error.
func checkImported(t testing.TB, c *config.Config) {
	t.Helper()
	y, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := config.Load(bytes.NewReader(y))
	if err != nil {
		t.Fatalf("config.Load of the import: %v\n%s", err, y)
	}
	y2, err := c2.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(y, y2) {
		t.Fatalf("YAML round trip differs:\n%s\n---\n%s", y, y2)
	}
	st, err := c.Desired()
	if err != nil {
		t.Fatalf("Desired: %v", err)
	}
	d := ipvs.NewDirector(&ipvs.Config{Schedulers: sched.New})
	if err := config.Apply(d, config.Diff(d.Services(), st)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if again := config.Diff(d.Services(), st); len(again) != 0 {
		t.Fatalf("applied import still differs: %v", again)
	}
}

func TestSamples(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.conf")
	if len(files) < 2 {
		t.Fatal("samples missing from testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, warns, err := ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			checkImported(t, c)
			got := render(t, c, warns)
			golden := strings.TrimSuffix(f, ".conf") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("import differs from %s:\n%s", golden, got)
			}
			// The golden file is itself a valid golvs configuration.
			if _, err := config.LoadFile(golden); err != nil {
				t.Errorf("golden: %v", err)
			}
		})
	}
}

// vs wraps lines in a virtual_server block starting on line 1.
func vs(body string) string { return "virtual_server 192.0.2.1 80 {\n" + body + "}\n" }

// rs wraps lines in a real_server block inside vs, starting on line 2.
func rs(body string) string { return vs("  real_server 10.0.0.1 80 {\n" + body + "  }\n") }

func TestErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unclosed", "virtual_server 192.0.2.1 80 {\n  lb_algo rr\n", "keepalived: line 1: the { opened here is never closed"},
		{"stray close", "global_defs {\n}\n}\n", "keepalived: line 3: } without a block to close"},
		{"brace without keyword", "{\n}\n", "keepalived: line 1: { without a keyword before it"},
		{"unterminated quote", rs("    MISC_CHECK {\n      misc_path \"/bin/check\n    }\n"), "keepalived: line 4: unterminated quoted string"},
		{"quoted keyword", "\"virtual_server\" 192.0.2.1 80 {\n}\n", `keepalived: line 1: a keyword cannot be quoted: "virtual_server"`},
		{"include", "global_defs {\n}\ninclude /etc/keepalived/conf.d/*.conf\n", "keepalived: line 3: include is not supported: import each file on its own"},
		{"include nested", vs("  include lb.conf\n"), "keepalived: line 2: include is not supported: import each file on its own"},
		{"parameter in vs", vs("  $X=1\n"), "keepalived: line 2: parameter definitions ($NAME=value) are not supported"},
		{"substitution", "virtual_server $VIP 80 {\n}\n", "keepalived: line 1: parameter substitution ($VIP) is not supported"},
		{"condition", "@lb1 virtual_server 192.0.2.1 80 {\n}\n", "keepalived: line 1: conditional configuration (@lb1) is not supported"},
		{"sequence", "~SEQ(i,1,3) virtual_server 192.0.2.$i 80 {\n}\n", "keepalived: line 1: sequences (~SEQ(i,1,3)) are not supported"},
		{"too deep", strings.Repeat("a {\n", 20) + strings.Repeat("}\n", 20), "keepalived: line 17: blocks nested more than 16 deep"},
		{"vs without block", "virtual_server 192.0.2.1 80\n", "keepalived: line 1: virtual_server needs a { block }"},
		{"vs group", "virtual_server group WEB {\n}\n", "keepalived: line 1: virtual_server group is not supported: write one virtual_server per address"},
		{"vs args", "virtual_server {\n}\n", "keepalived: line 1: virtual_server needs IP PORT or fwmark N"},
		{"vs address", "virtual_server www 80 {\n}\n", `keepalived: line 1: virtual_server: "www" is not an IP address`},
		{"vs port", "virtual_server 192.0.2.1 http {\n}\n", `keepalived: line 1: virtual_server: "http" is not a port`},
		{"vs fwmark", "virtual_server fwmark 0 {\n}\n", `keepalived: line 1: virtual_server fwmark: "0" is not a mark 1..4294967295`},
		{"vs duplicate", vs("") + vs(""), "keepalived: line 3: virtual_server tcp 192.0.2.1:80 is already defined on line 1"},
		{"port zero", "virtual_server 192.0.2.1 0 {\n}\n", "keepalived: line 1: services[0].tcp: port 0 needs persistent (zero port specified for non-persistent service)"},
		{"lb_algo unknown", vs("  delay_loop 6\n  lb_algo loadbalance\n"), `keepalived: line 3: services[0].scheduler: unknown scheduler "loadbalance" (known: dh, fo, lblc, lblcr, lc, mh, nq, ovf, rr, sed, sh, twos, wlc, wrr)`},
		{"lb_algo missing", vs("  lb_algo\n"), "keepalived: line 2: lb_algo needs a value"},
		{"lb_kind", vs("  lb_kind FULLNAT\n"), `keepalived: line 2: lb_kind: "FULLNAT" is not NAT, DR or TUN`},
		{"lb_kind options", vs("  lb_kind DR type gue\n"), "keepalived: line 2: lb_kind DR takes no options"},
		{"tun type", vs("  lb_kind TUN type vxlan\n"), `keepalived: line 2: lb_kind TUN type: "vxlan" is not ipip, gue or gre`},
		{"tun gue without port", vs("  lb_kind TUN type gue\n  real_server 10.0.0.1 80 {\n  }\n"), "keepalived: line 2: services[0].servers[0].tunnel.port: a gue tunnel needs a port"},
		{"persistence range", vs("  persistence_timeout 2678401\n"), "keepalived: line 2: persistence_timeout: 2678401 is out of range 0..2678400"},
		{"granularity", vs("  persistence_granularity 24\n"), `keepalived: line 2: persistence_granularity: "24" is not an IPv4 netmask`},
		{"granularity v6", "virtual_server 2001:db8::1 80 {\n  persistence_granularity 129\n}\n", `keepalived: line 2: persistence_granularity: "129" is not an IPv6 prefix length 1..128`},
		{"protocol", vs("  protocol ICMP\n"), `keepalived: line 2: protocol: "ICMP" is not TCP, UDP or SCTP`},
		{"ops tcp", vs("  ops\n"), "keepalived: line 2: services[0].ops: one-packet scheduling is only for UDP and fwmark services"},
		{"sh flag on rr", vs("  lb_algo rr\n  sh-port\n"), "keepalived: line 3: services[0].sched_flags[0]: sh-port needs scheduler sh"},
		{"ip_family", "virtual_server fwmark 1 {\n  ip_family inet7\n}\n", `keepalived: line 2: ip_family: "inet7" is not inet or inet6`},
		{"ip_family mismatch", vs("  ip_family inet6\n"), "keepalived: line 2: ip_family inet6 does not match the address 192.0.2.1"},
		{"pe", vs("  persistence_engine sipp\n"), `keepalived: line 2: services[0].pe: unknown persistence engine "sipp" (known: sip)`},
		{"quorum", vs("  quorum many\n"), `keepalived: line 2: quorum: "many" is not an integer`},
		{"delay_loop", vs("  delay_loop soon\n"), `keepalived: line 2: delay_loop: "soon" is not a number of seconds`},
		{"delay_loop negative", vs("  delay_loop -1\n"), "keepalived: line 2: delay_loop: -1 is out of range 0..2678400 seconds"},
		{"retry zero", vs("  retry 0\n"), "keepalived: line 2: retry: 0 is out of range 1..2147483647"},
		{"keyword with block", vs("  delay_loop 5 {\n  }\n"), "keepalived: line 2: delay_loop takes no block"},
		{"rs without block", vs("  real_server 10.0.0.1 80\n"), "keepalived: line 2: real_server needs a { block }"},
		{"rs address", vs("  real_server 10.0.0 80 {\n  }\n"), `keepalived: line 2: real_server: "10.0.0" is not an IP address`},
		{"rs no address", vs("  real_server {\n  }\n"), "keepalived: line 2: real_server needs IP [PORT]"},
		{"rs port", vs("  real_server 10.0.0.1 70000 {\n  }\n"), `keepalived: line 2: real_server: "70000" is not a port`},
		{"rs duplicate", vs("  real_server 10.0.0.1 80 {\n  }\n  real_server 10.0.0.1 80 {\n  }\n"), "keepalived: line 4: services[0].servers[1].address: 10.0.0.1:80 is already servers[0]"},
		{"weight negative", rs("    weight -3\n"), "keepalived: line 3: weight: -3 is negative"},
		{"weight text", rs("    weight heavy\n"), `keepalived: line 3: weight: "heavy" is not an integer`},
		{"weight two values", rs("    weight 1 2\n"), "keepalived: line 3: weight takes one value, not 2"},
		{"weight big", rs("    weight 2147483648\n"), "keepalived: line 3: weight: 2147483648 is out of range 0..2147483647"},
		{"thresholds", rs("    uthreshold 10\n    lthreshold 20\n"), "keepalived: line 4: services[0].servers[0].l_threshold: 20 is above u_threshold 10"},
		{"rs multicast", vs("  real_server 224.0.0.5 80 {\n  }\n"), "keepalived: line 2: services[0].servers[0].address: 224.0.0.5 is not a unicast address"},
		{"inhibit value", rs("    inhibit_on_failure maybe\n"), `keepalived: line 3: inhibit_on_failure: "maybe" is not true or false`},
		{"checker without block", rs("    TCP_CHECK\n"), "keepalived: line 3: TCP_CHECK needs a { block }"},
		{"checker value", rs("    TCP_CHECK 5 {\n    }\n"), "keepalived: line 3: TCP_CHECK takes no value before its block"},
		{"http without url", rs("    HTTP_GET {\n      connect_timeout 3\n    }\n"), "keepalived: line 3: HTTP_GET needs a url block"},
		{"url without path", rs("    HTTP_GET {\n      url {\n        status_code 200\n      }\n    }\n"), "keepalived: line 4: url needs a path"},
		{"url relative", rs("    HTTP_GET {\n      url {\n        path health\n      }\n    }\n"), `keepalived: line 5: services[0].servers[0].check.urls[0].path: "health" does not start with /`},
		{"status code", rs("    HTTP_GET {\n      url {\n        path /\n        status_code 200 2xx\n      }\n    }\n"), `keepalived: line 6: status_code: "2xx" is not a status code 100..599 or a range like 200-299`},
		{"digest", rs("    SSL_GET {\n      url {\n        path /\n        digest 1234\n      }\n    }\n"), `keepalived: line 6: services[0].servers[0].check.urls[0].digest: "1234" is not an MD5 digest (32 hex digits)`},
		{"misc without path", rs("    MISC_CHECK {\n      misc_dynamic\n    }\n"), "keepalived: line 3: MISC_CHECK needs a misc_path"},
		{"misc timeout", rs("    MISC_CHECK {\n      misc_path /bin/true\n      misc_timeout 0\n    }\n"), "keepalived: line 5: misc_timeout: 0 is out of range 1..2147483647"},
		{"connect_port", rs("    TCP_CHECK {\n      connect_port 0\n    }\n"), "keepalived: line 4: connect_port: 0 is out of range 1..65535"},
		{"connect_ip", rs("    TCP_CHECK {\n      connect_ip backend\n    }\n"), `keepalived: line 4: connect_ip: "backend" is not an IP address`},
		{"dns type", rs("    DNS_CHECK {\n      type ANY\n    }\n"), `keepalived: line 4: services[0].servers[0].check.query_type: "ANY" is not one of A, NS, CNAME, SOA, MX, TXT, AAAA`},
		{"udp payload", rs("    UDP_CHECK {\n      payload hello\n    }\n"), `keepalived: line 4: services[0].servers[0].check.payload: "hello" is not hex bytes`},
		{"sorry server", vs("  sorry_server 192.0.2.99 port\n"), `keepalived: line 2: sorry_server: "port" is not a port`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, w, err := Parse(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded, want %q", tt.want)
			}
			if c != nil || w != nil {
				t.Errorf("Parse returned a config or warnings with its error")
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got: %s\nwant: %s", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error %T is not an *Error", err)
			}
		})
	}
}

func TestParseFileNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(p, []byte("virtual_server 192.0.2.1 80 {\n  include x\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := ParseFile(p)
	want := "keepalived: " + p + ": line 2: include is not supported: import each file on its own"
	if err == nil || err.Error() != want {
		t.Fatalf("ParseFile: %v, want %s", err, want)
	}
}

func TestWarnings(t *testing.T) {
	in := `global_defs {
  router_id X
}
vrrp_sync_group G {
}
lvs_timeouts tcp 900
$VIP=192.0.2.1
vrrp_instance V { virtual_ipaddress { $VIP } }
virtual_server 192.0.2.1 80 {   # trailing comment
  lb_algo rr                     ! another one
  hashed
  sorry_server 2001:db8::9 80
  quorum 0
  frobnicate yes
  real_server 10.0.0.1 8080 {
    lb_kind DR
    inhibit_on_failure
    frob 1
    BFD_CHECK {
    }
  }
  real_server 2001:db8::5 80 {
  }
  real_server 10.0.0.2 80 {
    TCP_CHECK {
      bindto 10.0.0.254
      frob 2
      inhibit_on_failure false
      extra {
      }
    }
    inhibit_on_failure
  }
}
`
	c, warns, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warns {
		got = append(got, w.String())
	}
	want := []string{
		"line 1: global_defs ignored: golvs imports virtual servers only",
		"line 4: vrrp_sync_group ignored: golvs imports virtual servers only",
		"line 6: unknown keyword lvs_timeouts ignored",
		"line 7: parameter definition $VIP ignored",
		"line 8: vrrp_instance ignored: golvs imports virtual servers only",
		"line 11: hashed ignored: the flag is internal to the kernel",
		"line 12: sorry_server 2001:db8::9 skipped: its address family is not the service's",
		"line 13: quorum 0 is taken as 1, as keepalived does",
		"line 14: unknown keyword frobnicate in virtual_server ignored",
		"line 15: real_server port 8080 replaced by the service port 80: DR forwarding keeps it",
		"line 15: inhibit_on_failure has no effect on a real_server without a checker",
		"line 18: unknown keyword frob in real_server ignored",
		"line 19: BFD_CHECK is not supported; ignored",
		"line 22: real_server 2001:db8::5 skipped: its address family is not the service's and it is not tunnelled",
		"line 26: bindto in TCP_CHECK is not imported",
		"line 27: unknown keyword frob in TCP_CHECK ignored",
		"line 29: unknown block extra in TCP_CHECK ignored",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	s := c.Services[0]
	if len(s.Servers) != 2 || s.Servers[0].Port != 0 || s.Servers[0].Method != ipvs.FwdRoute || s.SorryServer.IsValid() {
		t.Errorf("service = %+v", s)
	}
	// The checker's own inhibit_on_failure overrides the real server's.
	if ch := s.Servers[1].Check; ch == nil || ch.InhibitOnFailure {
		t.Errorf("check = %+v", ch)
	}
	checkImported(t, c)
}

// TestInheritance: checker settings come from the checker, else the
// real_server, else the virtual_server.
func TestInheritance(t *testing.T) {
	in := `virtual_server 192.0.2.1 80 {
  delay_loop 30
  retry 4
  warmup 2.5
  delay_before_retry 3
  inhibit_on_failure
  virtualhost vs.example.test
  real_server 10.0.0.1 80 {
    delay_loop 20
    retry 5
    TCP_CHECK {
      delay_loop 10
    }
  }
  real_server 10.0.0.2 80 {
    inhibit_on_failure off
    HTTP_GET {
      url {
        path /
        virtualhost url.example.test
      }
    }
  }
}
`
	c, _, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.Services[0].Servers[0].Check, c.Services[0].Servers[1].Check
	if a.Interval.Seconds() != 10 || a.Retries != 5 || a.Warmup.Seconds() != 2.5 || a.DelayBeforeRetry.Seconds() != 3 || !a.InhibitOnFailure {
		t.Errorf("first check = %+v", a)
	}
	if b.Interval.Seconds() != 30 || b.Retries != 4 || b.InhibitOnFailure || b.VirtualHost != "url.example.test" {
		t.Errorf("second check = %+v", b)
	}
}

// TestFWMarkFamily: a fwmark service takes the family of ip_family, else
// of its first real server that is not tunnelled.
func TestFWMarkFamily(t *testing.T) {
	for _, tt := range []struct {
		in   string
		ipv6 bool
	}{
		{"virtual_server fwmark 1 {\n  real_server 2001:db8::1 80 {\n  }\n}\n", true},
		{"virtual_server fwmark 1 {\n  real_server 2001:db8::1 80 {\n    lvs_method TUN\n  }\n  real_server 192.0.2.2 80 {\n  }\n}\n", false},
		{"virtual_server fwmark 1 {\n  ip_family inet6\n}\n", true},
		{"virtual_server fwmark 1 {\n}\n", false},
	} {
		c, _, err := Parse(strings.NewReader(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if c.Services[0].IPv6 != tt.ipv6 {
			t.Errorf("%q: ipv6 = %v, want %v", tt.in, c.Services[0].IPv6, tt.ipv6)
		}
	}
}
