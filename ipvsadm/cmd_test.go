package ipvsadm

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
)

func run(t *testing.T, tg Target, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return runCfg(t, Config{}, tg, stdin, args...)
}

func runCfg(t *testing.T, cfg Config, tg Target, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var o, e bytes.Buffer
	rc := cfg.Run(tg, args, strings.NewReader(stdin), &o, &e, 0)
	return o.String(), e.String(), rc
}

func mustRun(t *testing.T, tg Target, args ...string) string {
	t.Helper()
	o, e, rc := run(t, tg, "", args...)
	if rc != 0 || e != "" {
		t.Fatalf("ipvsadm %q: rc %d: %s", args, rc, e)
	}
	return o
}

// richConfig sets up services of every kind through ipvsadm commands.
func richConfig(t *testing.T, tg Target) {
	for _, l := range []string{
		"-A -t 10.0.0.1:80 -s wlc -p 30 -M 255.255.255.0",
		"-a -t 10.0.0.1:80 -r 10.8.0.1:80 -m -w 1",
		"-a -t 10.0.0.1:80 -r 10.8.0.2:8080 -m -w 3",
		"-A -u 10.0.0.2:53 -s rr",
		"-a -u 10.0.0.2:53 -r 10.8.0.3 -m",
		"-A -f 3 -s sh -b sh-port -p 60",
		"-a -f 3 -r 10.8.0.4:0 -m",
		"-A -u 10.0.0.3:53 -s sh -o -b sh-fallback,sh-port",
		"-A -u 10.0.0.1:5060 -s rr -p 30 --pe sip",
		"-A -u 10.0.0.2:5060 -s rr --pe sip",
		"-A --sctp-service 10.0.0.1:3868 -s lc",
		"-A -t 10.0.0.2:8080 -s wrr -p",
		"-a -t 10.0.0.2:8080 -r 10.8.0.6 -i -w 0",
		"-a -t 10.0.0.2:8080 -r 10.8.0.7 -i --tun-type gue --tun-port 6080 --tun-csum",
		"-a -t 10.0.0.2:8080 -r 10.8.0.8 -i --tun-type gue --tun-port 6081 --tun-remcsum",
		"-a -t 10.0.0.2:8080 -r 10.8.0.9 -i --tun-type gre --tun-csum -w 70000",
		"-a -t 10.0.0.2:8080 -r 10.8.0.10 -g -w 4",
		"-A -t [2001:db8::1]:80 -s rr -p 120",
		"-a -t [2001:db8::1]:80 -r [2001:db8::9]:8080 -m -w 1",
		"-a -t [2001:db8::1]:80 -r 10.8.0.11 -i",
		"-A -f 5 -6 -s rr -p 30 -M 96",
		"-a -f 5 -6 -r [2001:db8::5]:0 -m",
		"-A -t 10.0.0.3:0 -s mh -b mh-port,mh-fallback -p 100 -M 255.255.0.0",
		"-A -t 10.0.0.4:21 -s lblc -p 10 -M 255.0.255.0",
		"-A -t 200.0.0.1:443 -s nq",
		"-a -t 200.0.0.1:443 -r 192.168.1.1 -m",
		"-a -t 200.0.0.1:443 -r 10.8.0.1 -m",
	} {
		mustRun(t, tg, strings.Fields(l)...)
	}
}

// TestSaveRestoreRoundTrip: -S then -R into an empty target gives the same
// configuration, numeric and with port names.
func TestSaveRestoreRoundTrip(t *testing.T) {
	for _, numeric := range []bool{true, false} {
		a := newFake()
		richConfig(t, a)
		args := []string{"-S"}
		if numeric {
			args = append(args, "-n")
		}
		named := Config{PortNames: BuiltinServices}
		saved, _, _ := runCfg(t, named, a, "", args...)
		if !numeric && !strings.Contains(saved, "-A -t 10.0.0.1:http -s wlc") {
			t.Errorf("ports not named:\n%s", saved)
		}
		b := newFake()
		o, e, rc := run(t, b, "# a comment is not one for -R\n"[:0]+saved, "-R")
		if rc != 0 || o != "" || e != "" {
			t.Fatalf("restore: rc %d %q %q", rc, o, e)
		}
		if got, _, _ := runCfg(t, named, b, "", args...); got != saved {
			t.Errorf("second save differs:\n%s\nvs\n%s", got, saved)
		}
		if a.state() != b.state() {
			t.Errorf("state differs:\n%s\nvs\n%s", a.state(), b.state())
		}
		la := mustRun(t, a, "-L", "-n", "--tun-info")
		lb := mustRun(t, b, "-L", "-n", "--tun-info")
		if la != lb {
			t.Errorf("listings differ:\n%s\nvs\n%s", la, lb)
		}
	}
	// ipvsadm saves a fwmark above 2^31 as a negative number, which it
	// then refuses to restore
	a0 := newFake()
	mustRun(t, a0, "-A", "-f", "2147483649", "-s", "rr")
	saved := mustRun(t, a0, "-S", "-n")
	o, e, rc := run(t, newFake(), saved, "-R")
	if saved != "-A -f -2147483647 -s rr\n" || o != "" || e != "invalid fwmark value `-2147483647' specified\n" || rc != 2 {
		t.Errorf("big fwmark: %q %q %q %d", saved, o, e, rc)
	}
	// thresholds are not saved
	a := newFake()
	mustRun(t, a, "-A", "-t", "10.0.0.1:80")
	mustRun(t, a, "-a", "-t", "10.0.0.1:80", "-r", "10.8.0.1", "-x", "10", "-y", "5")
	if s := mustRun(t, a, "-S", "-n"); s != "-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.8.0.1:80 -g -w 1\n" {
		t.Errorf("save: %q", s)
	}
}

// TestMalformed: command lines ipvsadm refuses, each with its exact text
// and status; nothing reaches the target.
func TestMalformed(t *testing.T) {
	tryHelpText := "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n"
	cases := []struct {
		args   string
		stderr string
		rc     int
	}{
		{"-L -A", "invalid option `-A'\n", 2},
		{"-L -LA", "invalid option `-LA'\n", 2},
		{"-L --start-daemon master", "invalid option `master'\n", 2},
		{"-n -L", tryHelpText, 255},
		{"--lis", tryHelpText, 255},
		{"foo", tryHelpText, 255},
		{"--", tryHelpText, 255},
		{"-L=", tryHelpText, 255},
		{"--start-daemon", tryHelpText, 255},
		{"-L --foo", "--foo: unknown option\n", 255},
		{"-Lq", "-Lq: unknown option\n", 255},
		{"-L --numeric=5", "--numeric=5: option does not take an argument\n", 255},
		{"-L -n=", "-n=: option does not take an argument\n", 255},
		{"-A -t", "-t: missing argument\n", 255},
		{"-A -t 10.0.0.1:0", "Zero port specified for non-persistent service\n", 2},
		{"-A -t 10.0.0.1", "Zero port specified for non-persistent service\n", 2},
		{"-A -t 10.0.0.1:80 -b mh-port", "incompatible scheduler flag `mh-port'\n", 2},
		{"-A -t 10.0.0.1:80 -s sh -b sh-port,foo", "invalid scheduler flag `foo'\n", 2},
		{"-A -t 10.0.0.1:80 -s sh -b ,", "", 139},
		{"-A -t 10.0.0.1:80 -x 3", "Illegal 'u-threshold' option with the 'add-service' command\n", 2},
		{"-A -s rr", "You need to supply the 'service-address' option for the 'add-service' command\n", 2},
		{"-A -6 -f 1", "-6 used before -f\n\n", 2},
		{"-A -f 1 -6 -M 129", "illegal ipv6 netmask specified\n", 2},
		{"-A -t 10.0.0.1:80 -M foo -p", "illegal virtual server persistent mask specified\n", 2},
		{"-A -t 10.0.0.1:80 -f 3", "multiple 'service-address' options specified\n", 2},
		{"-A -t 10.0.0.1:80 -p 0", "invalid timeout value `0' specified\n", 2},
		{"-A -t 10.0.0.1:80 -p 2678401", "invalid timeout value `2678401' specified\n", 2},
		{"-A -t 10.0.0.1:84 -o", "One-Packet Scheduling is only for UDP virtual services\n", 2},
		{"-A -t 10.0.0.1:80:90", "illegal virtual server address[:port] specified\n", 2},
		{"-A -t host.example:80", "illegal virtual server address[:port] specified\n", 2},
		{"-A -t [2001:db8::1]", "illegal virtual server address[:port] specified\n", 2},
		{"-A -t 10.0.0.1:65536", "illegal virtual server address[:port] specified\n", 2},
		{"-A -f 0", "invalid fwmark value `0' specified\n", 2},
		{"-A -f 4294967296", "invalid fwmark value `4294967296' specified\n", 2},
		{"-A foo -t 10.0.0.1:80", "unexpected argument foo\n", 2},
		{"-C -n", "Illegal 'numeric' option with the 'flush' command\n", 2},
		{"-S -t 10.0.0.1:80", "Illegal 'service-address' option with the 'save' command\n", 2},
		{"-a -t 10.0.0.1:80", "You need to supply the 'real-server' option for the 'add-server' command\n", 2},
		{"-a -t 10.0.0.1:80 -r 10.8.0.1 -w 2147483648", "illegal weight specified\n", 2},
		{"-a -t 10.0.0.1:80 -r 10.8.0.1 -w -1", "illegal weight specified\n", 2},
		{"-a -t 10.0.0.1:80 -r 10.8.0.1 -x -1", "illegal u_threshold specified\n", 2},
		{"-a -t 10.0.0.1:80 -r 10.8.0.1 -y x", "illegal l_threshold specified\n", 2},
		{"-a -t 10.0.0.1:80 -r 10.8.0.1 -m -g", "multiple 'forwarding-method' options specified\n", 2},
		{"-a -t 10.0.0.1:80 -r [2001:db8::20]", "illegal real server address[:port] specified\n", 2},
		{"-a -t 10.0.0.1:80 -r 10.8.0.4 -m --tun-type gue", "Tunnel options conflict with forward method\n", 2},
		{"-a -t 10.0.0.1:80 -r 10.8.0.4 -i --tun-type gue", "You need to supply the 'tun-port' option for the 'gue' tunnel type\n", 2},
		{"-a -t 10.0.0.1:80 -r 10.8.0.4 -i --tun-type gre --tun-port 5", "Illegal 'tun-port' option with the 'gre' tunnel type\n", 2},
		{"-a -t 10.0.0.1:80 -r 10.8.0.4 -i --tun-type gue --tun-port 6080 --tun-csum --tun-nocsum", "The option 'tun-csum' conflicts with the 'tun-nocsum' option in the 'gue' tunnel type\n", 2},
		{"-a -t 10.0.0.1:80 -r 10.8.0.4 -i --tun-type foo", "illegal tunnel type specified\n", 2},
		{"-a -f 1 -r [2001:db8::5]:80 -m", "Different address family is allowed only for tunneling servers\n", 2},
		{"--set 1 2", "--set option requires 3 timeout values\n", 2},
		{"--set 10 20 30 40", "unexpected argument 40\n", 2},
		{"--set 10 20 x", "invalid timeout value `x' specified\n", 2},
		{"-L --timeout --stats", "options conflicts in the list command\n", 2},
		{"-L -c --timeout", "The option 'timeout' conflicts with the 'connection' option in the 'list' command\n", 2},
		{"-L -c -t 10.0.0.1:80", "The option 'service-address' conflicts with the 'connection' option in the 'list' command\n", 2},
		{"-L --daemon --persistent-conn", "options conflicts in the list command\n", 2},
		{"-L -o", "Illegal 'ops' option with the 'list' command\n", 2},
		{"-L -n -n", "multiple 'numeric' options specified\n", 2},
		{"--start-daemon foo", "illegal start-daemon parameter specified\n", 2},
		{"--stop-daemon foo", "illegal start_daemon specified\n", 2},
		{"--start-daemon master --syncid 256", "illegal syncid specified\n", 2},
		{"--start-daemon master --mcast-group 10.0.0.1", "invalid IPv4 mcast-group `10.0.0.1'\n", 2},
		{"--start-daemon master --mcast-group 2001:db8::1", "invalid IPv6 mcast-group `2001:db8::1'\n", 2},
		{"--stop-daemon master --mcast-interface eth0", "Illegal 'mcast-interface' option with the 'stop-daemon' command\n", 2},
		{"-L -h", "invalid option `-h'\n", 2},
		{"-A -t 10.0.0.1:80 --output json", "Illegal 'output' option with the 'add-service' command\n", 2},
		{"-L --output xml", "invalid output format `xml' specified\n", 2},
	}
	for _, c := range cases {
		fake := newFake()
		richConfig(t, fake)
		before := fake.state()
		ncalls := len(fake.calls)
		args := strings.Fields(c.args)
		o, e, rc := run(t, fake, "", args...)
		if o != "" || e != c.stderr || rc != c.rc {
			t.Errorf("ipvsadm %s: got rc %d out %q err %q; want rc %d err %q", c.args, rc, o, e, c.rc, c.stderr)
		}
		if fake.state() != before || len(fake.calls) != ncalls {
			t.Errorf("ipvsadm %s: the target changed: %q", c.args, fake.calls[ncalls:])
		}
		cmd, err := Parse(args)
		var pe *Error
		if cmd != nil || !errors.As(err, &pe) || pe.Text != c.stderr || pe.Status != c.rc {
			t.Errorf("Parse(%s) = %v, %v", c.args, cmd, err)
		}
	}
}

func TestKernelErrors(t *testing.T) {
	fake := newFake()
	richConfig(t, fake)
	cases := []struct {
		args   string
		stderr string
	}{
		{"-A -t 10.0.0.1:80", "Service already exists\n"},
		{"-A -t 10.0.0.9:80 -s foo", "Scheduler or persistence engine not found\n"},
		{"-E -t 10.0.0.9:80", "No such service\n"},
		{"-E -t 10.0.0.1:80 -s foo", "Scheduler or persistence engine not found\n"},
		{"-D -t 10.0.0.9:80", "No such service\n"},
		{"-Z -t 10.0.0.9:80", "No such service\n"},
		{"-a -t 10.0.0.9:80 -r 10.8.0.1", "Service not defined\n"},
		{"-e -t 10.0.0.9:80 -r 10.8.0.1", "Service not defined\n"},
		{"-d -t 10.0.0.9:80 -r 10.8.0.1", "Service not defined\n"},
		{"-a -t 10.0.0.1:80 -r 10.8.0.1", "Destination already exists\n"},
		{"-e -t 10.0.0.1:80 -r 10.8.0.99", "No such destination\n"},
		{"-d -t 10.0.0.1:80 -r 10.8.0.99", "No such destination\n"},
		{"-a -t 10.0.0.1:80 -r 10.8.0.99 -x 1 -y 5", "Numerical result out of range\n"},
		{"--start-daemon master", "Daemon has already run\n"},
		{"--stop-daemon backup", "No daemon is running\n"},
	}
	mustRun(t, fake, "--start-daemon", "master")
	for _, c := range cases {
		o, e, rc := run(t, fake, "", strings.Fields(c.args)...)
		if o != "" || e != c.stderr || rc != 255 {
			t.Errorf("%s: rc %d out %q err %q", c.args, rc, o, e)
		}
	}
	// errors the core may return, and errnos
	for _, c := range []struct {
		kind CommandKind
		err  error
		want string
	}{
		{CmdAdd, ipvs.ErrInvalid, "Invalid operation.  Possibly wrong module version, address not unicast, ..."},
		{CmdAddDest, ipvs.ErrAFNotSupported, "Operation not supported with specified address family"},
		{CmdAddDest, ipvs.ErrNoService, "Service not defined"},
		{CmdEdit, ipvs.ErrServiceNotDefined, "No such service"},
		{CmdAddDest, ipvs.ErrSchedulerNotFound, "No such file or directory"},
		{CmdFlush, syscall.EPERM, "Permission denied (you must be root)"},
		{CmdFlush, syscall.EBUSY, "Device or resource busy"},
		{CmdFlush, errors.New("something else"), "something else"},
		{CmdStartDaemon, ErrDaemonUnsupported, "sync daemon not supported by this target"},
	} {
		if got := ErrorText(c.kind, c.err); got != c.want {
			t.Errorf("%v %v: %q", c.kind, c.err, got)
		}
	}
}

func TestDaemons(t *testing.T) {
	fake := newFake()
	mustRun(t, fake, "--start-daemon", "master", "--mcast-interface", "eth1", "--syncid", "5")
	mustRun(t, fake, "--start-daemon", "backup", "--syncid", "7", "--mcast-group", "ff02::1:2", "--mcast-port", "9000", "--mcast-ttl", "3", "--sync-maxlen", "1000")
	if got := mustRun(t, fake, "-L", "--daemon"); got != "master sync daemon (mcast=eth1, syncid=5)\n"+
		"backup sync daemon (mcast=eth0, syncid=7, maxlen=1000, group=ff02::1:2, port=9000, ttl=3)\n" {
		t.Errorf("daemons: %q", got)
	}
	if fake.daemons[1].McastGroup != netip.MustParseAddr("ff02::1:2") {
		t.Errorf("group %v", fake.daemons[1].McastGroup)
	}
	mustRun(t, fake, "--stop-daemon", "master")
	if got := mustRun(t, fake, "-L", "--daemon", "-o", "json"); !strings.Contains(got, `"state": "backup"`) || strings.Contains(got, "master") {
		t.Errorf("json daemons: %s", got)
	}
	// a target without daemons
	plain := plainTarget{newFake()}
	o, e, rc := run(t, plain, "", "--start-daemon", "master")
	if o != "" || e != "sync daemon not supported by this target\n" || rc != 255 {
		t.Errorf("plain: %d %q %q", rc, o, e)
	}
	if got := mustRun(t, plain, "-L", "--daemon"); got != "" {
		t.Errorf("plain daemons: %q", got)
	}
}

func TestParseCommand(t *testing.T) {
	p := func(s string) *Command {
		t.Helper()
		c, err := Parse(strings.Fields(s))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		return c
	}
	c := p("-a -t 10.0.0.1:80 -r 10.8.0.1:8080")
	if c.Dest.Port != 80 || c.Dest.Method != ipvs.FwdRoute || c.Dest.Weight != 1 {
		t.Errorf("DR port not forced: %+v", c.Dest)
	}
	c = p("-a -t 10.0.0.1:80 -r 10.8.0.1 -m")
	if c.Dest.Port != 80 || c.Dest.Method != ipvs.FwdMasq {
		t.Errorf("masq default port: %+v", c.Dest)
	}
	c = p("-a -r 10.8.0.1 -t 10.0.0.1:80 -m")
	if c.Dest.Port != 0 {
		t.Errorf("-r before -t takes the port of no service yet: %+v", c.Dest)
	}
	c = p("-a -f 7 -r 10.8.0.1:8080")
	if c.Dest.Port != 8080 || c.Service.FWMark != 7 || c.Service.Protocol != ipvs.ProtoTCP || c.Service.Family != ipvs.AFInet {
		t.Errorf("fwmark dest: %+v %+v", c.Service, c.Dest)
	}
	c = p("-A -t 10.0.0.1:80 -p")
	if c.Service.Timeout != 360 || c.Service.Flags != ipvs.SvcPersistent || c.Service.Scheduler != "wlc" || c.Service.Netmask != 0xffffffff {
		t.Errorf("-p default: %+v", c.Service)
	}
	c = p("-A -t 10.0.0.1:80 -p -s rr")
	if c.Service.Timeout != 360 || c.Service.Scheduler != "rr" {
		t.Errorf("-p before an option: %+v", c.Service)
	}
	c = p("-A -t 10.0.0.1:80 -p=45 -s=sh -b=sh-port")
	if c.Service.Timeout != 45 || c.Service.Scheduler != "sh" || c.Service.Flags != ipvs.SvcPersistent|ipvs.SvcSched2 {
		t.Errorf("= forms: %+v", c.Service)
	}
	c = p("-A --tcp-service=10.0.0.1:http --persistent 20 --scheduler rr")
	if c.Service.Port != 80 || c.Service.Timeout != 20 {
		t.Errorf("long forms, port names: %+v", c.Service)
	}
	c = p("-A -u [::ffff:10.0.0.7]:domain")
	if c.Service.Family != ipvs.AFInet6 || c.Service.Port != 53 || c.Service.Netmask != 128 || c.Service.Addr != netip.MustParseAddr("::ffff:10.0.0.7") {
		t.Errorf("IPv6: %+v", c.Service)
	}
	c = p("-A -M 64 -t [2001:db8::3]:80 -p")
	if c.Service.Netmask != 128 {
		t.Errorf("-t [IPv6] after -M resets the netmask: %d", c.Service.Netmask)
	}
	c = p("-A -t 10.1 -p 10 -M 0xffff0000")
	if c.Service.Addr != netip.MustParseAddr("10.0.0.1") || c.Service.Netmask != 0xffff0000 {
		t.Errorf("inet_aton forms: %+v", c.Service)
	}
	c = p("-A -f 9 -6 -M 96 -p")
	if c.Service.Family != ipvs.AFInet6 || c.Service.Netmask != 96 || c.Service.Addr != netip.IPv6Unspecified() {
		t.Errorf("fwmark IPv6: %+v", c.Service)
	}
	c = p("-A -t 10.0.0.1:80 -s abcdefghijklmnopqrst --pe abcdefghijklmnopqrst")
	if c.Service.Scheduler != "abcdefghijklmno" || c.Service.PE != "abcdefghijklmnop" {
		t.Errorf("truncation: %+v", c.Service)
	}
	if c := p("-Z -t 0.0.0.0:0"); !c.zeroAll() {
		t.Errorf("-Z -t 0.0.0.0:0 zeroes everything")
	}
	if c := p("--set 10 0 30"); c.Timeouts != (ipvs.Timeouts{TCP: 10 * time.Second, UDP: 30 * time.Second}) {
		t.Errorf("--set: %+v", c.Timeouts)
	}
	if c := p("-L -n -t 10.0.0.1:80 --stats -X"); !c.List.NoVersion || !c.List.Stats || !c.List.Exact || !c.List.Numeric {
		t.Errorf("list opts: %+v", c.List)
	}
	if c := p("-L -o json -c"); c.Output != OutputJSON || c.Options&OptOnePacket != 0 {
		t.Errorf("-o json: %+v", c)
	}
	if c := p(""); c.Kind != CmdList || c.List.Numeric {
		t.Errorf("no arguments: %+v", c)
	}
	if c := p("-h -bogus"); c.Kind != CmdHelp {
		t.Errorf("-h: %+v", c)
	}
	if c := p("-A -t 10.0.0.1:80 -s r!#:+ r -p !#:+ 30"); c.Service.Scheduler != "rr" || c.Service.Timeout != 30 {
		t.Errorf("popt expansion: %+v", c.Service)
	}
}

func TestListings(t *testing.T) {
	fake := newFake()
	richConfig(t, fake)
	// without -n: ports numeric by default, by name with PortNames,
	// addresses always numeric
	if a, b := mustRun(t, fake, "-L", "-t", "10.0.0.1:80"), mustRun(t, fake, "-L", "-n", "-t", "10.0.0.1:80"); a != b {
		t.Errorf("default names:\n%s\nvs\n%s", a, b)
	}
	got, _, _ := runCfg(t, Config{PortNames: BuiltinServices}, fake, "", "-L", "-t", "10.0.0.1:80")
	want := "Prot LocalAddress:Port Scheduler Flags\n" +
		"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n" +
		"TCP  10.0.0.1:http wlc persistent 30 mask 255.255.255.0\n" +
		"  -> 10.8.0.1:http                Masq    1      0          0         \n" +
		"  -> 10.8.0.2:http-alt            Masq    3      0          0         \n"
	checkText(t, "-L -t", got, want)
	o, e, rc := run(t, fake, "", "-L", "-n", "-t", "10.0.0.9:80")
	if o != "" || e != "No such service\n" || rc != 1 {
		t.Errorf("missing: %d %q %q", rc, o, e)
	}
	checkText(t, "fwmark 6", mustRun(t, fake, "-L", "-n", "-f", "5", "-6"),
		"Prot LocalAddress:Port Scheduler Flags\n"+
			"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"+
			"FWM  5 IPv6 rr persistent 30 mask 96\n"+
			"  -> [2001:db8::5]:0              Masq    1      0          0         \n")
	checkText(t, "timeout", mustRun(t, fake, "-L", "--timeout"), "Timeout (tcp tcpfin udp): 900 120 300\n")
	mustRun(t, fake, "--set", "0", "60", "0")
	checkText(t, "timeout", mustRun(t, fake, "-L", "--timeout"), "Timeout (tcp tcpfin udp): 900 60 300\n")
	// --nosort keeps the target's order: services as created, dests newest first
	ns := mustRun(t, fake, "-L", "-n", "--nosort")
	if !strings.Contains(ns, "TCP  200.0.0.1:443 nq\n  -> 10.8.0.1:443 ") {
		t.Errorf("--nosort:\n%s", ns)
	}
	// Zero
	fake.calls = nil
	mustRun(t, fake, "-Z")
	mustRun(t, fake, "-Z", "-t", "0.0.0.0:0")
	mustRun(t, fake, "-Z", "-f", "3")
	if strings.Join(fake.calls, "|") != "Zero all|Zero all|Zero {Family:inet Protocol:6 Addr:0.0.0.0 Port:0 FWMark:3}" {
		t.Errorf("zero calls: %q", fake.calls)
	}
}

func TestConnListings(t *testing.T) {
	conns := []ipvs.ConnInfo{
		{Family: ipvs.AFInet6, Protocol: ipvs.ProtoTCP, Client: ap("[2001:db8:9::1]:40001"), Virtual: ap("[2001:db8::1]:80"),
			Dest: ap("[2001:db8::9]:8080"), State: "ESTABLISHED", Expires: 899 * time.Second},
		{Family: ipvs.AFInet6, Protocol: ipvs.ProtoTCP, Client: ap("[2001:db8:9::1]:40002"), Virtual: ap("[2001:db8::1]:80"),
			Dest: ap("10.8.0.11:80"), State: "SYN_RECV", Expires: 59*time.Second + 999*time.Millisecond},
		{Family: ipvs.AFInet, Protocol: ipvs.ProtoUDP, Client: ap("10.9.0.1:5060"), Virtual: ap("10.0.0.1:5060"),
			Dest: ap("10.8.0.1:5060"), State: "NONE", Expires: 30 * time.Second, Template: true, PEName: "sip", PEData: "abc@host"},
		{Family: ipvs.AFInet, Protocol: ipvs.ProtoUDP, Client: ap("10.9.0.1:5060"), Virtual: ap("10.0.0.1:5060"),
			Dest: ap("10.8.0.1:5060"), State: "UDP", Expires: 86400 * time.Second},
	}
	var b bytes.Buffer
	FormatConns(&b, conns, false, true)
	checkText(t, "conns", b.String(), "IPVS connection entries\n"+
		"pro expire state       source             virtual            destination\n"+
		"TCP 14:59  ESTABLISHED [2001:db8:9::1]:40001 [2001:db8::1]:80   [2001:db8::9]:8080\n"+
		"TCP 00:59  SYN_RECV    [2001:db8:9::1]:40002 [2001:db8::1]:80   10.8.0.11:80\n"+
		"UDP 00:30  NONE        10.9.0.1:5060      10.0.0.1:5060      10.8.0.1:5060\n"+
		"UDP 1440:00 UDP         10.9.0.1:5060      10.0.0.1:5060      10.8.0.1:5060\n")
	b.Reset()
	formatConns(&b, conns[2:], true, false, BuiltinServices)
	checkText(t, "conns pe", b.String(), "IPVS connection entries\n"+
		"pro expire state       source             virtual            destination        pe name          pe_data\n"+
		"UDP 00:30  NONE        10.9.0.1:sip       10.0.0.1:sip       10.8.0.1:sip     sip                abc@host\n"+
		"UDP 1440:00 UDP         10.9.0.1:sip       10.0.0.1:sip       10.8.0.1:sip\n")
	b.Reset()
	FormatProcConn(&b, conns)
	checkText(t, "proc", b.String(), "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n"+
		"TCP 2001:0db8:0009:0000:0000:0000:0000:0001 9C41 2001:0db8:0000:0000:0000:0000:0000:0001 0050 2001:0db8:0000:0000:0000:0000:0000:0009 1F90 ESTABLISHED     899\n"+
		"TCP 2001:0db8:0009:0000:0000:0000:0000:0001 9C42 2001:0db8:0000:0000:0000:0000:0000:0001 0050 0A08000B 0050 SYN_RECV         59\n"+
		"UDP 0A090001 13C4 0A000001 13C4 0A080001 13C4 NONE             30 sip abc@host\n"+
		"UDP 0A090001 13C4 0A000001 13C4 0A080001 13C4 UDP           86400\n")
	fake := newFake()
	fake.conns = conns[:1]
	lc, _, _ := runCfg(t, Config{PortNames: BuiltinServices}, fake, "", "-L", "-c")
	checkText(t, "-L -c", lc, "IPVS connection entries\n"+
		"pro expire state       source             virtual            destination\n"+
		"TCP 14:59  ESTABLISHED [2001:db8:9::1]:40001 [2001:db8::1]:http [2001:db8::9]:http-alt\n")
	var js JSONConns
	if err := json.Unmarshal([]byte(mustRun(t, fake, "-L", "-c", "-o", "json")), &js); err != nil || len(js.Connections) != 1 ||
		js.Connections[0].Destination != "[2001:db8::9]:8080" || js.Connections[0].Expires != 899 {
		t.Errorf("json conns: %+v %v", js, err)
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	if err := FormatListJSON(&b, specServices(), ListOptions{}); err != nil {
		t.Fatal(err)
	}
	var doc JSONList
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "1.2.1" || doc.Size != 4096 || len(doc.Services) != 3 {
		t.Fatalf("%+v", doc)
	}
	s := doc.Services[0]
	if s.Protocol != "TCP" || s.Address != "10.0.0.1" || s.Port != 80 || !s.Persistent || s.Timeout != 30 ||
		s.Netmask != "255.255.255.0" || s.Stats.InBytes != 336 || len(s.Dests) != 2 || s.Dests[0].Address != "10.8.0.1" ||
		s.Dests[1].UThreshold != 100 || s.Dests[1].Forward != "Masq" || s.Dests[1].Stats.Conns != 2 {
		t.Errorf("service: %+v", s)
	}
	f := doc.Services[2]
	if f.Protocol != "FWM" || f.FWMark != 3 || strings.Join(f.SchedFlags, ",") != "sh-port" {
		t.Errorf("fwmark: %+v", f)
	}
	fake := newFake()
	richConfig(t, fake)
	for _, args := range [][]string{{"-L", "-o", "json"}, {"-L", "--output", "json", "-n"}, {"-L", "--output=json", "-t", "10.0.0.2:8080"},
		{"-l", "--timeout", "-o", "json"}} {
		out := mustRun(t, fake, args...)
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Errorf("%q: %v\n%s", args, err, out)
		}
	}
	out := mustRun(t, fake, "-L", "--output=json", "-t", "10.0.0.2:8080")
	if !strings.Contains(out, `"type": "gue"`) || !strings.Contains(out, `"flags": "remcsum"`) {
		t.Errorf("tunnels in json:\n%s", out)
	}
	// text output unchanged by --output text
	if a, b := mustRun(t, fake, "-L", "-n"), mustRun(t, fake, "-L", "-n", "--output", "text"); a != b {
		t.Errorf("--output text differs")
	}
}

func TestCHelpers(t *testing.T) {
	aton := map[string]string{
		"10.0.0.1": "10.0.0.1", "10.1": "10.0.0.1", "10": "0.0.0.10", "0x0a000102": "10.0.1.2", "012.0.1.3": "10.0.1.3",
		"10.0.0.1 junk": "10.0.0.1", "1.2.3.4\t": "1.2.3.4", "1.2.65535": "1.2.255.255", "0": "0.0.0.0",
		"4294967295": "255.255.255.255", "0x": "", "1.2.3.4.5": "", "256.1": "", "1.2.65536": "", "08": "", "1..2": "",
		"": "", " 1.2.3.4": "", "1.2.3.4x": "", "4294967296": "", "0xffffffffff": "", "1.2.3.": "",
	}
	for in, want := range aton {
		v, ok := inetAton(in)
		got := ""
		if ok {
			got = inetNtop4(v)
		}
		if got != want {
			t.Errorf("inet_aton(%q) = %q, want %q", in, got, want)
		}
	}
	pton := map[string]string{
		"::": "::", "::1": "::1", "2001:db8::1": "2001:db8::1", "::ffff:1.2.3.4": "::ffff:1.2.3.4", "::1.2.3.4": "::1.2.3.4",
		"1:0:0:2::3": "1:0:0:2::3", "1:0:0:0:2:0:0:3": "1::2:0:0:3", "1:2:3:4:5:6:7:8": "1:2:3:4:5:6:7:8",
		"fe80::1:0:0:1": "fe80::1:0:0:1", "0:0:0:0:0:0:0:1": "::1", "1::": "1::", "::ffff:0:0": "::ffff:0.0.0.0",
		"1:2:3:4:5:6:1.2.3.4": "1:2:3:4:5:6:102:304", "::0:1:0:0:0": "::1:0:0:0", "0:0:0:1::": "0:0:0:1::",
		":": "", ":::": "", "1:::2": "", "12345::": "", "1:2:3:4:5:6:7:8:9": "", "::1.2.3.04": "", "fe80::1%eth0": "",
		"1:2:3:4:5:6:7::": "1:2:3:4:5:6:7:0", "::1:2:3:4:5:6:7": "0:1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8::": "", "g::": "", "1:": "",
	}
	for in, want := range pton {
		a, ok := inetPton6(in)
		got := ""
		if ok {
			got = inetNtop6(a)
		}
		if got != want {
			t.Errorf("inet_pton6(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]int64{"80": 80, " 80": 80, "+80": 80, "-0": 0, "": -1, "80x": -1, "65536": -1, "99999999999999999999": -1} {
		if got := stringToNumber(in, 0, 65535); got != want {
			t.Errorf("string_to_number(%q) = %d", in, got)
		}
	}
}

func TestReadConfigLine(t *testing.T) {
	in := "a b\n\n  \t\r\nipvsadm\n c\td\r\ne ipvsadm f\n" + strings.Repeat("x", 4100) + "\nlast  "
	br := bufio_NewReader(in)
	var got []string
	for {
		w, ok := readConfigLine(br)
		if !ok {
			break
		}
		got = append(got, strings.Join(w, ","))
	}
	want := []string{"a,b", "", "", "", "c,d", "e,f", strings.Repeat("x", 4096) + "," + "xxxx"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q", got)
	}
}

// TestMergedOutput: with stdout and stderr on one writer, error lines come
// first, as through a pipe (stdout block-buffered, stderr not).
func TestMergedOutput(t *testing.T) {
	fake := newFake()
	var b bytes.Buffer
	rc := Run(fake, []string{"-R"}, strings.NewReader("-A -t 10.0.0.1:80\n-S -n\n-A -t 10.0.0.1:80\n"), &b, &b, 0)
	if rc != 255 || b.String() != "Service already exists\n-A -t 10.0.0.1:80 -s wlc\n" {
		t.Errorf("%d %q", rc, b.String())
	}
	// a listing larger than the buffer is written in 4096-byte blocks
	for i := 0; i < 200; i++ {
		mustRun(t, fake, "-A", "-u", "10.0.1."+strconv.Itoa(i)+":53")
	}
	b.Reset()
	Run(fake, []string{"-R"}, strings.NewReader("-S -n\n-A -t 10.0.0.1:80\n"), &b, &b, 0)
	out := b.String()
	i := strings.Index(out, "Service already exists\n")
	if i != 4096 {
		t.Errorf("error at %d of %d", i, len(out))
	}
}
