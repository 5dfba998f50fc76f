package config

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
)

// stripLines clears the source positions, which are not configuration.
func stripLines(c *Config) *Config {
	c.lines = nil
	for i := range c.Services {
		s := &c.Services[i]
		s.Line, s.lines = 0, nil
		for j := range s.Servers {
			sv := &s.Servers[j]
			sv.Line, sv.lines = 0, nil
			if sv.Check != nil {
				sv.Check.Line, sv.Check.lines = 0, nil
			}
		}
	}
	return c
}

// roundTrip checks that Marshal writes what Load reads back to an equal
// Config, and that a second Marshal is identical to the first.
func roundTrip(t testing.TB, c *Config) {
	t.Helper()
	out, err := c.Marshal()
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	c2, err := Load(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("Load(Marshal()): %v\n%s", err, out)
	}
	a, b := stripLines(clone(t, c)), stripLines(c2)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("round trip differs:\n before: %+v\n  after: %+v\n%s", a, b, out)
	}
	out2, err := c2.Marshal()
	if err != nil {
		t.Fatalf("second Marshal: %v", err)
	}
	if !bytes.Equal(out, out2) {
		t.Fatalf("Marshal is not stable:\n%s\n---\n%s", out, out2)
	}
}

// clone deep-copies c through its own YAML, keeping c untouched.
func clone(t testing.TB, c *Config) *Config {
	t.Helper()
	out, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := decode(out)
	if err != nil {
		t.Fatal(err)
	}
	return c2
}

func TestSamples(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) == 0 {
		t.Fatal("no samples in testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := LoadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, c)
			if _, err := c.Desired(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLoadFileNamesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "golvs.yaml")
	if err := os.WriteFile(p, []byte("services:\n  - tcp: 192.0.2.1:80\n    weight: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(p)
	want := "config: " + p + ": line 3: services[0].weight: unknown field"
	if err == nil || err.Error() != want {
		t.Fatalf("LoadFile: %v, want %s", err, want)
	}
}

// TestSampleValues pins what the sample means, field by field.
func TestSampleValues(t *testing.T) {
	c, err := LoadFile("testdata/golvs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Control.Socket != "/run/golvs/golvs.sock" || c.Control.Listen.String() != "127.0.0.1:9410" || c.LogLevel != "info" {
		t.Errorf("control = %+v, log level %q", c.Control, c.LogLevel)
	}
	if got, want := c.IPVSTimeouts(), (ipvs.Timeouts{TCP: 15 * time.Minute, TCPFin: 2 * time.Minute, UDP: 5 * time.Minute}); got != want {
		t.Errorf("timeouts = %+v, want %+v", got, want)
	}
	st := c.IPVSSettings()
	if !st.ExpireNodestConn || !st.ExpireQuiescentTemplate || st.ConnReuseMode != 0 || st.MaxConns != 1000000 || !st.RunEstimation {
		t.Errorf("settings = %+v", st)
	}
	web := c.Services[0]
	if web.Scheduler != "wrr" || web.ProxyProtocol != ProxyV2 || web.Mode != ModeFullNAT || web.Quorum != 2 ||
		web.SorryServer.String() != "192.0.2.250:8080" {
		t.Errorf("web = %+v", web)
	}
	chk := web.Servers[0].Check
	if chk.Type != CheckHTTP || chk.Interval != 5*time.Second || chk.Retries != 3 ||
		!reflect.DeepEqual(chk.URLs, []URL{{Path: "/healthz", Status: []StatusRange{{200, 200}, {300, 399}}}}) {
		t.Errorf("check = %+v", chk)
	}
	if d := web.Servers[1].Check.WithDefaults(); d.Timeout != DefaultCheckTimeout || d.Interval != 5*time.Second || !d.InhibitOnFailure {
		t.Errorf("defaults = %+v", d)
	}

	want, err := c.Desired()
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, ch := range Diff(nil, want) {
		got = append(got, ch.String())
	}
	wantCmds := []string{
		"-A -t 192.0.2.10:80 -s wrr",
		"-a -t 192.0.2.10:80 -r 10.1.0.11:8080 -m -w 3",
		"-a -t 192.0.2.10:80 -r 10.1.0.12:8080 -m -w 1 -x 500 -y 400",
		"-A -u 192.0.2.53:53 -s rr -o",
		"-a -u 192.0.2.53:53 -r 10.1.0.21:53 -m -w 1",
		"-a -u 192.0.2.53:53 -r 10.1.0.22:53 -m -w 0",
		"-A -f 10 -s sh -p 600 -M 255.255.255.0 -b sh-fallback,sh-port",
		"-a -f 10 -r 10.1.0.31:0 -g -w 1",
		"-a -f 10 -r 10.1.0.32:0 -g -w 1",
		"-A -t [2001:db8::10]:443 -s mh -p 360 -M 64 -b mh-port",
		"-a -t [2001:db8::10]:443 -r [2001:db8:1::11]:443 -m -w 1",
		"-a -t [2001:db8::10]:443 -r [2001:db8:1::12]:443 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum",
	}
	if strings.Join(got, "\n") != strings.Join(wantCmds, "\n") {
		t.Errorf("changes from nothing:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantCmds, "\n"))
	}
}

// TestDesiredDefaults: the values the director gets when the file leaves
// them out.
func TestDesiredDefaults(t *testing.T) {
	c, err := Load(strings.NewReader(`
services:
  - tcp: 192.0.2.1:80
    servers:
      - address: 10.0.0.1
  - fwmark: 4
    ipv6: true
    persistent: true
    servers:
      - address: 2001:db8::7
  - sctp: 192.0.2.1:0
    persistent: 30
    netmask: 0.0.0.0
`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := c.Desired()
	if err != nil {
		t.Fatal(err)
	}
	a4 := c.Services[0].Addr.Addr()
	want := []ipvs.ServiceConfig{
		{ServiceKey: ipvs.ServiceKey{Family: ipvs.AFInet, Protocol: ipvs.ProtoTCP, Addr: a4, Port: 80},
			Scheduler: "wlc", Netmask: 0xffffffff, NetmaskSet: true},
		{ServiceKey: ipvs.ServiceKey{Family: ipvs.AFInet6, Protocol: ipvs.ProtoTCP, FWMark: 4},
			Scheduler: "wlc", Flags: ipvs.SvcPersistent, Timeout: 360, Netmask: 128, NetmaskSet: true},
		{ServiceKey: ipvs.ServiceKey{Family: ipvs.AFInet, Protocol: ipvs.ProtoSCTP, Addr: a4, Port: 0},
			Scheduler: "wlc", Flags: ipvs.SvcPersistent, Timeout: 30, Netmask: 0, NetmaskSet: true},
	}
	if !reflect.DeepEqual(st.Services, want) {
		t.Errorf("services\n got %+v\nwant %+v", st.Services, want)
	}
	d := st.Dests[want[0].ServiceKey]
	if len(d) != 1 || d[0].Port != 80 || d[0].Weight != 1 || d[0].Method != ipvs.FwdMasq {
		t.Errorf("dests of %v = %+v", want[0].ServiceKey, d)
	}
	if d := st.Dests[want[1].ServiceKey]; len(d) != 1 || d[0].Port != 0 {
		t.Errorf("dests of %v = %+v", want[1].ServiceKey, d)
	}
	roundTrip(t, c)
}

// TestValidateSchedulers: Validate checks names against the list it is
// given; nil leaves them unchecked.
func TestValidateSchedulers(t *testing.T) {
	c := &Config{Services: []Service{{Protocol: ipvs.ProtoTCP, Scheduler: "lard",
		Addr: mustAddrPort("192.0.2.1:80"), Line: 4}}}
	if err := c.Validate(nil); err != nil {
		t.Errorf("Validate(nil): %v", err)
	}
	if err := c.Validate([]string{"lard"}); err != nil {
		t.Errorf("Validate(lard): %v", err)
	}
	want := `config: line 4: services[0].scheduler: unknown scheduler "lard" (known: rr, wrr)`
	if err := c.Validate([]string{"rr", "wrr"}); err == nil || err.Error() != want {
		t.Errorf("Validate(rr, wrr): %v, want %s", err, want)
	}
	c.Services[0].Scheduler = "none"
	if err := c.Validate([]string{"rr"}); err != nil {
		t.Errorf("none: %v", err)
	}
}

// TestValidateBuilt: errors in a Config built in code name the entry's line
// when the field's is unknown.
func TestValidateBuilt(t *testing.T) {
	c := &Config{Services: []Service{{
		Protocol: ipvs.ProtoTCP, Addr: mustAddrPort("192.0.2.1:80"), Scheduler: "rr", Line: 3,
		Servers: []Server{{Addr: mustAddrPort("10.0.0.1:80").Addr(), Weight: -1, Line: 7}},
	}}}
	want := "config: line 7: services[0].servers[0].weight: -1 is negative"
	if err := c.Validate(nil); err == nil || err.Error() != want {
		t.Errorf("Validate: %v, want %s", err, want)
	}
	if _, err := c.Desired(); err == nil {
		t.Errorf("Desired of an invalid config succeeded")
	}
}

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// TestDocExample: the schema in the package documentation is a valid
// configuration.
func TestDocExample(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(src), "// # Schema\n//\n")
	block, _, _ := strings.Cut(rest, "//\n")
	var y strings.Builder
	for _, l := range strings.Split(block, "\n") {
		y.WriteString(strings.TrimPrefix(strings.TrimPrefix(l, "//"), "\t") + "\n")
	}
	c, err := Load(strings.NewReader(y.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, y.String())
	}
	if len(c.Services) != 1 || c.Services[0].Servers[0].Check.Type != CheckHTTP {
		t.Errorf("doc example read as %+v", c)
	}
}
