//go:build linux

package e2e

// Health checking compared with keepalived itself: keepalived's checker
// process and golvs's check package watch the same loopback backends, the
// test fails and revives them, and after each step both must have the same
// real servers in their IPVS tables and have run the same notify commands.
//
// keepalived needs the kernel's IPVS: without the ip_vs module its checker
// exits at once ("IPVS: Can't initialize ipvs"). The test preloads a small
// shim (C, built with gcc at test time) that answers keepalived's IPVS
// socket options (IP_VS_SO_GET_*, IP_VS_SO_SET_*) in user space and logs
// every service and dest command to a file; keepalived's generic-netlink
// IPVS family is missing, so it falls back to those socket options. The
// test replays the log into keepalived's table. Nothing reaches a kernel
// IPVS, and keepalived runs no VRRP (-C: checkers only).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golvs/golvs/check"
	"github.com/golvs/golvs/control"
	"github.com/golvs/golvs/internal/testenv"
	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
	"golang.org/x/net/dns/dnsmessage"
)

// checkKAShim fakes the IPVS socket options for keepalived (LD_PRELOAD):
// gets return an empty IPVS 1.2.1, sets succeed and are logged to
// $GOLVS_IPVS_LOG as "adddest VIP:VPORT RIP:RPORT WEIGHT" and the like.
const checkKAShim = `#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/ip_vs.h>

static void logline(const char *fmt, ...) {
	const char *p = getenv("GOLVS_IPVS_LOG");
	FILE *f;
	va_list ap;
	if (!p || !(f = fopen(p, "a")))
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
	static int (*real)(int, int, int, const void *, socklen_t);
	if (level == IPPROTO_IP && name >= IP_VS_BASE_CTL && name <= IP_VS_SO_SET_MAX) {
		const struct ip_vs_service_user *s = val;
		char a[INET_ADDRSTRLEN] = "?", b[INET_ADDRSTRLEN] = "?";
		if (len >= sizeof *s)
			inet_ntop(AF_INET, &s->addr, a, sizeof a);
		switch (name) {
		case IP_VS_SO_SET_ADDDEST: case IP_VS_SO_SET_DELDEST: case IP_VS_SO_SET_EDITDEST: {
			const struct ip_vs_dest_user *d = (const void *)(s + 1);
			if (len < sizeof *s + sizeof *d)
				break;
			inet_ntop(AF_INET, &d->addr, b, sizeof b);
			logline("%s %s:%u %s:%u %d\n", name == IP_VS_SO_SET_ADDDEST ? "adddest" :
				name == IP_VS_SO_SET_DELDEST ? "deldest" : "editdest",
				a, ntohs(s->port), b, ntohs(d->port), d->weight);
			break;
		}
		case IP_VS_SO_SET_ADD: case IP_VS_SO_SET_DEL: case IP_VS_SO_SET_EDIT:
			logline("%s %s:%u\n", name == IP_VS_SO_SET_ADD ? "add" : name == IP_VS_SO_SET_DEL ? "del" : "edit",
				a, ntohs(s->port));
			break;
		default:
			logline("set %d\n", name - IP_VS_BASE_CTL);
		}
		return 0;
	}
	if (!real)
		real = dlsym(RTLD_NEXT, "setsockopt");
	return real(fd, level, name, val, len);
}

int getsockopt(int fd, int level, int name, void *val, socklen_t *len) {
	static int (*real)(int, int, int, void *, socklen_t *);
	if (level == IPPROTO_IP && name >= IP_VS_BASE_CTL && name <= IP_VS_SO_GET_MAX) {
		memset(val, 0, *len);
		if (name == IP_VS_SO_GET_VERSION)
			snprintf(val, *len, "IP Virtual Server version 1.2.1 (size=4096)");
		else if (name == IP_VS_SO_GET_INFO && *len >= sizeof(struct ip_vs_getinfo)) {
			struct ip_vs_getinfo *i = val;
			i->version = 0x010201;
			i->size = 4096;
		}
		return 0;
	}
	if (!real)
		real = dlsym(RTLD_NEXT, "getsockopt");
	return real(fd, level, name, val, len);
}
`

// checkKABackend is a TCP server on a loopback address that the test can
// stop (connections refused) and start again on the same address.
type checkKABackend struct {
	t    *testing.T
	addr netip.AddrPort
	mu   sync.Mutex
	l    net.Listener
	done chan struct{}
}

func checkKANewBackend(t *testing.T, ip string) *checkKABackend {
	t.Helper()
	b := &checkKABackend{t: t}
	b.listen(ip + ":0")
	t.Cleanup(b.stop)
	return b
}

func (b *checkKABackend) listen(addr string) {
	b.t.Helper()
	var l net.Listener
	var err error
	for range 50 { // the port may take a moment to be free again
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		b.t.Fatal(err)
	}
	b.addr = netip.MustParseAddrPort(l.Addr().String())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	b.mu.Lock()
	b.l, b.done = l, done
	b.mu.Unlock()
}

func (b *checkKABackend) stop() {
	b.mu.Lock()
	l, done := b.l, b.done
	b.l = nil
	b.mu.Unlock()
	if l != nil {
		l.Close()
		<-done
	}
}

func (b *checkKABackend) start() { b.listen(b.addr.String()) }

// checkKASyncBuffer collects a process's output.
type checkKASyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *checkKASyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *checkKASyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// checkKATable replays the shim's log: the dests of service vs as sorted
// "addr:port=weight".
func checkKATable(t *testing.T, logPath, vs string) []string {
	t.Helper()
	f, err := os.Open(logPath)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dests := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) != 4 || w[1] != vs {
			continue
		}
		switch w[0] {
		case "adddest", "editdest":
			dests[w[2]] = w[3]
		case "deldest":
			delete(dests, w[2])
		}
	}
	var out []string
	for d, wt := range dests {
		out = append(out, d+"="+wt)
	}
	sort.Strings(out)
	return out
}

// checkKALines returns a file's lines, sorted (notify commands run
// concurrently in keepalived, so only the set per step is compared).
func checkKALines(path string) []string {
	b, _ := os.ReadFile(path)
	var out []string
	for l := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

type checkKAClock struct{ start time.Time }

func (c checkKAClock) Now() ipvs.Time { return ipvs.Time(time.Since(c.start)) }

// The checks' timing, the same on both sides.
const (
	checkKADelayLoop = 300 * time.Millisecond
	checkKATimeout   = 500 * time.Millisecond
	checkKAMiscTime  = time.Second // misc_timeout takes whole seconds
	checkKADBR       = 200 * time.Millisecond
	checkKARetry     = 1
)

// checkKAServer is a real server and its checker on both sides.
type checkKAServer struct {
	addr    netip.AddrPort
	weight  int32
	inhibit bool
	alpha   bool
	// kaCheck is the keepalived checker keyword (TCP_CHECK, ...) and
	// kaLines its own options; misc checks take misc_timeout.
	kaCheck string
	kaLines string
	probe   check.Prober
}

// checkKAService is the virtual service both sides check.
type checkKAService struct {
	vip     netip.AddrPort
	quorum  uint32
	sorry   netip.AddrPort // invalid: none
	servers []checkKAServer
}

// checkKARig runs keepalived (with the IPVS shim) and a golvs checker on
// the same service.
type checkKARig struct {
	t                  *testing.T
	dir, shim, ipvsLog string
	kaNotes, goNotes   string
	svc                checkKAService
	d                  *ipvs.Director
	key                ipvs.ServiceKey
	kaDone             chan struct{}
	kaSeen, goSeen     []string
	bound              time.Duration
}

// checkKANewRig checks the requirements and builds the shim.
func checkKANewRig(t *testing.T) *checkKARig {
	t.Helper()
	// keepalived's checker needs root (raw IPVS socket, script security);
	// the shim needs gcc. Outside CI the test skips without them; in CI,
	// which installs test/e2e/APT-PACKAGES as root, it fails.
	for _, c := range []string{"keepalived", "gcc"} {
		if _, err := exec.LookPath(c); err != nil && !testenv.InCI() {
			t.Skipf("%s is not installed (apt-get install keepalived gcc; CI installs them from test/e2e/APT-PACKAGES): skipped because CI is unset", c)
		}
	}
	if os.Geteuid() != 0 {
		const why = "keepalived's checker needs root (it opens a raw socket for IPVS and runs its scripts as root)"
		if testenv.InCI() {
			t.Fatal(why + " and CI is set: CI must run this test as root")
		}
		t.Skip(why + ": skipped because not root and CI is unset (CI runs it as root)")
	}
	testenv.RequireCommands(t, "keepalived", "gcc")
	dir := t.TempDir()
	r := &checkKARig{t: t, dir: dir, shim: filepath.Join(dir, "ipvs_shim.so"), ipvsLog: filepath.Join(dir, "ipvs.log"),
		kaNotes: filepath.Join(dir, "keepalived.notify"), goNotes: filepath.Join(dir, "golvs.notify")}
	src := filepath.Join(dir, "ipvs_shim.c")
	if err := os.WriteFile(src, []byte(checkKAShim), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-shared", "-fPIC", "-O2", "-o", r.shim, src, "-ldl").CombinedOutput(); err != nil {
		t.Fatalf("building the IPVS shim: %v\n%s", err, out)
	}
	return r
}

// notify returns a notify command that appends what to file.
func checkKANotify(what, file string) string {
	return fmt.Sprintf(`/bin/sh -c 'echo %s >> %s'`, what, file)
}

// run starts both checkers on svc; they stop when the test ends.
func (r *checkKARig) run(svc checkKAService) {
	t := r.t
	t.Helper()
	r.svc = svc
	split := func(s string) []string {
		argv, err := check.SplitCommand(s)
		if err != nil {
			t.Fatal(err)
		}
		return argv
	}
	var conf strings.Builder
	fmt.Fprintf(&conf, "global_defs {\n  script_user root\n  enable_script_security\n}\n")
	fmt.Fprintf(&conf, "virtual_server %s %d {\n  delay_loop %g\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n", svc.vip.Addr(), svc.vip.Port(), checkKADelayLoop.Seconds())
	fmt.Fprintf(&conf, "  quorum %d\n  hysteresis 0\n", svc.quorum)
	fmt.Fprintf(&conf, "  quorum_up %q\n  quorum_down %q\n", checkKANotify("quorum_up", r.kaNotes), checkKANotify("quorum_down", r.kaNotes))
	key := ipvs.ServiceKey{Family: ipvs.AFInet, Protocol: ipvs.ProtoTCP, Addr: svc.vip.Addr(), Port: svc.vip.Port()}
	gs := check.Service{Key: key, Quorum: svc.quorum,
		QuorumUp: split(checkKANotify("quorum_up", r.goNotes)), QuorumDown: split(checkKANotify("quorum_down", r.goNotes))}
	if svc.sorry.IsValid() {
		fmt.Fprintf(&conf, "  sorry_server %s %d\n", svc.sorry.Addr(), svc.sorry.Port())
		gs.SorryServer = &ipvs.DestConfig{Addr: svc.sorry.Addr(), Port: svc.sorry.Port(), Method: ipvs.FwdMasq, Weight: 1}
	}
	r.bound = 0
	for _, s := range svc.servers {
		name := s.addr.String()
		fmt.Fprintf(&conf, "  real_server %s %d {\n    weight %d\n", s.addr.Addr(), s.addr.Port(), s.weight)
		if s.inhibit {
			conf.WriteString("    inhibit_on_failure\n")
		}
		fmt.Fprintf(&conf, "    notify_up %q\n    notify_down %q\n", checkKANotify("up "+name, r.kaNotes), checkKANotify("down "+name, r.kaNotes))
		timeout, timeoutKey := checkKATimeout, "connect_timeout"
		if s.kaCheck == "MISC_CHECK" {
			timeout, timeoutKey = checkKAMiscTime, "misc_timeout"
		}
		fmt.Fprintf(&conf, "    %s {\n%s      %s %g\n      retry %d\n      delay_before_retry %g\n",
			s.kaCheck, s.kaLines, timeoutKey, timeout.Seconds(), checkKARetry, checkKADBR.Seconds())
		if s.alpha {
			conf.WriteString("      alpha\n")
		}
		conf.WriteString("    }\n  }\n")
		c := &check.Check{Probe: s.probe, Interval: checkKADelayLoop, Timeout: timeout, Retries: checkKARetry,
			DelayBeforeRetry: checkKADBR, Warmup: checkKADelayLoop, Alpha: s.alpha}
		// The longest a change takes: a failure after a success, or a
		// first check after a warmup of up to delay_loop.
		r.bound = max(r.bound, c.FailureBound()+checkKADelayLoop)
		gs.Servers = append(gs.Servers, check.Server{
			Dest:             ipvs.DestConfig{Addr: s.addr.Addr(), Port: s.addr.Port(), Method: ipvs.FwdMasq, Weight: s.weight},
			Check:            c,
			InhibitOnFailure: s.inhibit,
			NotifyUp:         split(checkKANotify("up "+name, r.goNotes)),
			NotifyDown:       split(checkKANotify("down "+name, r.goNotes)),
		})
	}
	conf.WriteString("}\n")
	confPath := filepath.Join(r.dir, "keepalived.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	r.key = key
	r.d = ipvs.NewDirector(&ipvs.Config{Schedulers: sched.New})
	if err := r.d.AddService(ipvs.ServiceConfig{ServiceKey: key, Scheduler: "rr"}); err != nil {
		t.Fatal(err)
	}
	ctl := control.New(r.d, checkKAClock{time.Now()}, nil, quiet)
	chk, err := check.New(ctl, []check.Service{gs}, &check.Options{Log: quiet})
	if err != nil {
		t.Fatal(err)
	}

	var kaOut checkKASyncBuffer
	ka := exec.Command("keepalived", "-n", "-l", "-D", "-C", "-f", confPath,
		"-p", filepath.Join(r.dir, "keepalived.pid"), "-c", filepath.Join(r.dir, "checkers.pid"))
	ka.Env = append(os.Environ(), "LD_PRELOAD="+r.shim, "GOLVS_IPVS_LOG="+r.ipvsLog)
	ka.Stdout, ka.Stderr = &kaOut, &kaOut
	// keepalived ends with the test binary, whatever happens to it.
	ka.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := ka.Start(); err != nil {
		t.Fatal(err)
	}
	r.kaDone = make(chan struct{})
	go func() { ka.Wait(); close(r.kaDone) }()
	t.Cleanup(func() {
		ka.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.kaDone:
		case <-time.After(10 * time.Second):
			ka.Process.Kill()
			<-r.kaDone
		}
		if t.Failed() {
			t.Logf("keepalived.conf:\n%s\nkeepalived's output:\n%s\nIPVS commands:\n%s", conf.String(), kaOut.String(), checkKAReadFile(r.ipvsLog))
		}
	})
	if err := chk.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(chk.Stop)
}

func (r *checkKARig) goTable() []string {
	si, err := r.d.Service(r.key)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, x := range si.Dests {
		out = append(out, fmt.Sprintf("%s=%d", netip.AddrPortFrom(x.Addr, x.Port), x.Weight))
	}
	sort.Strings(out)
	return out
}

// step waits until both sides have wantTable and have run wantNotes since
// the previous step, then checks that neither changes for another bound.
// The deadline derives from the checks' configuration, with slack.
func (r *checkKARig) step(name string, wantTable []string, wantNotes []string) {
	t := r.t
	t.Helper()
	sort.Strings(wantTable)
	sort.Strings(wantNotes)
	within := 3*r.bound + 5*time.Second
	limit := time.Now().Add(within)
	vs := r.svc.vip.String()
	var kt, gt, kn, gn []string
	for {
		select {
		case <-r.kaDone:
			t.Fatalf("%s: keepalived exited", name)
		default:
		}
		kt, gt = checkKATable(t, r.ipvsLog, vs), r.goTable()
		kn, gn = checkKANewLines(checkKALines(r.kaNotes), r.kaSeen), checkKANewLines(checkKALines(r.goNotes), r.goSeen)
		if slices.Equal(kt, wantTable) && slices.Equal(gt, wantTable) && slices.Equal(kn, wantNotes) && slices.Equal(gn, wantNotes) {
			break
		}
		if time.Now().After(limit) {
			t.Fatalf("%s: after %v\nkeepalived table %q\n     golvs table %q\n            want %q\nkeepalived notifies %q\n     golvs notifies %q\n              want %q",
				name, within, kt, gt, wantTable, kn, gn, wantNotes)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.kaSeen, r.goSeen = append(r.kaSeen, kn...), append(r.goSeen, gn...)
	// Settled: nothing more may come within another bound.
	time.Sleep(r.bound)
	kt, gt = checkKATable(t, r.ipvsLog, vs), r.goTable()
	kn, gn = checkKANewLines(checkKALines(r.kaNotes), r.kaSeen), checkKANewLines(checkKALines(r.goNotes), r.goSeen)
	if !slices.Equal(kt, wantTable) || !slices.Equal(gt, wantTable) || len(kn) != 0 || len(gn) != 0 {
		t.Fatalf("%s: changed after settling\nkeepalived %q %q\n     golvs %q %q", name, kt, kn, gt, gn)
	}
	t.Logf("%s: both have %q and ran %q", name, wantTable, wantNotes)
}

func checkKAW(a string, weight int) string { return fmt.Sprintf("%s=%d", a, weight) }

// TestCheckAgainstKeepalived fails and revives TCP and misc-checked
// backends under keepalived's checkers and golvs's, with alpha,
// inhibit_on_failure, misc_dynamic weights, a quorum and a sorry server,
// and compares the IPVS tables and the notify commands after each step.
func TestCheckAgainstKeepalived(t *testing.T) {
	r := checkKANewRig(t)
	rs1 := checkKANewBackend(t, "127.0.0.2")
	rs2 := checkKANewBackend(t, "127.0.0.3")
	rs3 := checkKANewBackend(t, "127.0.0.4")
	rs4 := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.5"), uint16(freePort(t)))
	sorry := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.9"), uint16(freePort(t)))
	vip := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(freePort(t)))
	exitFile := filepath.Join(r.dir, "rs4.exit")
	setExit := func(code int) {
		if err := os.WriteFile(exitFile, []byte(fmt.Sprint(code)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setExit(3) // misc_dynamic: weight 1, as configured
	misc := fmt.Sprintf(`/bin/sh -c 'read c < %s; exit "$c"'`, exitFile)
	miscArgv, err := check.SplitCommand(misc)
	if err != nil {
		t.Fatal(err)
	}
	tcp := func(b *checkKABackend, w int32) checkKAServer {
		return checkKAServer{addr: b.addr, weight: w, kaCheck: "TCP_CHECK", probe: &check.TCP{Addr: b.addr}}
	}
	s1, s2, s3 := tcp(rs1, 1), tcp(rs2, 2), tcp(rs3, 1)
	s2.inhibit, s3.alpha = true, true
	r.run(checkKAService{vip: vip, quorum: 3, sorry: sorry, servers: []checkKAServer{s1, s2, s3, {
		addr: rs4, weight: 1, kaCheck: "MISC_CHECK", kaLines: fmt.Sprintf("      misc_path %q\n      misc_dynamic\n", misc),
		probe: &check.Command{Argv: miscArgv, Dynamic: true},
	}}})

	n1, n2, n3, n4, ns := rs1.addr.String(), rs2.addr.String(), rs3.addr.String(), rs4.String(), sorry.String()
	w := checkKAW
	// Start: rs3 (alpha) is out until its first success, which is
	// notified; the others start up silently; alive weight 4 >= 3 gives
	// the quorum at once (quorum_up at start).
	r.step("start", []string{w(n1, 1), w(n2, 2), w(n3, 1), w(n4, 1)}, []string{"quorum_up", "up " + n3})
	// rs1 fails: removed after retry+1 failures.
	rs1.stop()
	r.step("rs1 fails", []string{w(n2, 2), w(n3, 1), w(n4, 1)}, []string{"down " + n1})
	// rs2 fails: inhibited (weight 0); alive weight 2 < 3: the sorry server
	// replaces the alive servers.
	rs2.stop()
	r.step("rs2 fails", []string{w(n2, 0), w(ns, 1)}, []string{"down " + n2, "quorum_down"})
	// The misc check sets rs4's weight to 5: alive weight 6 >= 3, the
	// quorum is back, the alive servers return at their weights.
	setExit(7)
	r.step("rs4 weight 5", []string{w(n2, 0), w(n3, 1), w(n4, 5)}, []string{"quorum_up"})
	rs1.start()
	r.step("rs1 recovers", []string{w(n1, 1), w(n2, 0), w(n3, 1), w(n4, 5)}, []string{"up " + n1})
	rs2.start()
	r.step("rs2 recovers", []string{w(n1, 1), w(n2, 2), w(n3, 1), w(n4, 5)}, []string{"up " + n2})
	// The misc check fails (exit 1): removed.
	setExit(1)
	r.step("rs4 fails", []string{w(n1, 1), w(n2, 2), w(n3, 1)}, []string{"down " + n4})
	// rs3 fails: alive weight 3 is still the quorum.
	rs3.stop()
	r.step("rs3 fails", []string{w(n1, 1), w(n2, 2)}, []string{"down " + n3})
	// The misc check recovers with weight 0: alive, in with weight 0.
	setExit(2)
	r.step("rs4 recovers with weight 0", []string{w(n1, 1), w(n2, 2), w(n4, 0)}, []string{"up " + n4})
	// rs1 fails: alive weight 2 < 3, the sorry server again.
	rs1.stop()
	r.step("rs1 fails again", []string{w(n2, 0), w(ns, 1)}, []string{"down " + n1, "quorum_down"})
}

// checkKANewLines returns the lines of all that are not in seen (multisets).
func checkKANewLines(all, seen []string) []string {
	left := map[string]int{}
	for _, s := range seen {
		left[s]++
	}
	var out []string
	for _, l := range all {
		if left[l] > 0 {
			left[l]--
			continue
		}
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

func checkKAReadFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// checkKAMode is a backend's behaviour, switched by the test.
type checkKAMode struct {
	mu      sync.Mutex
	mode    string
	release chan struct{} // closed when the mode changes (frees hung handlers)
}

func newCheckKAMode(m string) *checkKAMode {
	return &checkKAMode{mode: m, release: make(chan struct{})}
}

func (m *checkKAMode) get() (string, <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.mode, m.release
}

func (m *checkKAMode) set(s string) {
	m.mu.Lock()
	m.mode = s
	close(m.release)
	m.release = make(chan struct{})
	m.mu.Unlock()
}

// checkKAUDP serves UDP on a loopback address: "reply" answers "pong",
// "silent" answers nothing, "dns-ok"/"dns-fail" answer DNS queries with
// NOERROR or SERVFAIL. close and open make the port unreachable and back.
type checkKAUDP struct {
	t    *testing.T
	mode *checkKAMode
	addr netip.AddrPort
	mu   sync.Mutex
	c    net.PacketConn
	done chan struct{}
}

func checkKANewUDP(t *testing.T, ip, mode string) *checkKAUDP {
	u := &checkKAUDP{t: t, mode: newCheckKAMode(mode)}
	u.open(ip + ":0")
	t.Cleanup(u.close)
	return u
}

func (u *checkKAUDP) open(addr string) {
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		u.t.Fatal(err)
	}
	u.addr = netip.MustParseAddrPort(c.LocalAddr().String())
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := u.answer(buf[:n]); out != nil {
				c.WriteTo(out, from)
			}
		}
	}()
	u.mu.Lock()
	u.c, u.done = c, done
	u.mu.Unlock()
}

func (u *checkKAUDP) answer(q []byte) []byte {
	mode, _ := u.mode.get()
	switch mode {
	case "reply":
		return []byte("pong")
	case "dns-ok", "dns-fail":
		var p dnsmessage.Parser
		h, err := p.Start(q)
		if err != nil {
			return nil
		}
		qq, err := p.Question()
		if err != nil {
			return nil
		}
		rh := dnsmessage.Header{ID: h.ID, Response: true, RecursionDesired: h.RecursionDesired}
		if mode == "dns-fail" {
			rh.RCode = dnsmessage.RCodeServerFailure
		}
		b := dnsmessage.NewBuilder(nil, rh)
		b.StartQuestions()
		b.Question(qq)
		if mode == "dns-ok" {
			b.StartAnswers()
			b.AResource(dnsmessage.ResourceHeader{Name: qq.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: [4]byte{192, 0, 2, 1}})
		}
		out, _ := b.Finish()
		return out
	}
	return nil
}

func (u *checkKAUDP) close() {
	u.mu.Lock()
	c, done := u.c, u.done
	u.c = nil
	u.mu.Unlock()
	if c != nil {
		c.Close()
		<-done
	}
}

func (u *checkKAUDP) reopen() { u.open(u.addr.String()) }

// TestCheckAgainstKeepalivedProtocols compares HTTP_GET (status code,
// digest, a hung server), UDP_CHECK (reply required, silence, ICMP port
// unreachable) and DNS_CHECK (NOERROR, SERVFAIL) with keepalived's.
func TestCheckAgainstKeepalivedProtocols(t *testing.T) {
	r := checkKANewRig(t)
	const body = "healthy\n"
	sum := md5.Sum([]byte(body))
	digest := hex.EncodeToString(sum[:])
	// httpServer answers by its mode: ok (the body), other (another
	// body), 503, 302 or hang (accepted, never answered).
	httpServer := func(ip string) (*checkKAMode, netip.AddrPort) {
		mode := newCheckKAMode("ok")
		l, err := net.Listen("tcp", ip+":0")
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			m, release := mode.get()
			switch m {
			case "ok":
				io.WriteString(w, body)
			case "other":
				io.WriteString(w, "something else\n")
			case "503":
				http.Error(w, "unavailable", http.StatusServiceUnavailable)
			case "302":
				http.Redirect(w, req, "/elsewhere", http.StatusFound)
			case "hang":
				<-release
			}
		})}
		go hs.Serve(l)
		t.Cleanup(func() { mode.set("ok"); hs.Close() })
		return mode, netip.MustParseAddrPort(l.Addr().String())
	}
	hmode, ha := httpServer("127.0.0.2")
	pmode, pa := httpServer("127.0.0.5")
	udp := checkKANewUDP(t, "127.0.0.3", "reply")
	dns := checkKANewUDP(t, "127.0.0.4", "dns-ok")
	vip := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(freePort(t)))

	r.run(checkKAService{vip: vip, quorum: 1, servers: []checkKAServer{
		{addr: ha, weight: 1, kaCheck: "HTTP_GET",
			kaLines: fmt.Sprintf("      url {\n        path /health\n        digest %s\n        status_code 200\n      }\n", digest),
			probe:   &check.HTTP{Addr: ha, URLs: []check.URL{{Path: "/health", Status: []check.StatusRange{{Min: 200, Max: 200}}, Digest: digest}}}},
		{addr: udp.addr, weight: 1, kaCheck: "UDP_CHECK",
			kaLines: fmt.Sprintf("      payload %x\n      require_reply %x\n", "ping", "pong"),
			probe:   &check.UDP{Addr: udp.addr, Payload: []byte("ping"), RequireReply: true, Reply: []byte("pong")}},
		{addr: dns.addr, weight: 1, kaCheck: "DNS_CHECK", kaLines: "      type A\n      name ok.test\n",
			probe: &check.DNS{Addr: dns.addr, Name: "ok.test", Type: dnsmessage.TypeA}},
		// No status_code: the default accepts 2xx only.
		{addr: pa, weight: 1, kaCheck: "HTTP_GET", kaLines: "      url {\n        path /plain\n      }\n",
			probe: &check.HTTP{Addr: pa, URLs: []check.URL{{Path: "/plain"}}}},
	}})

	nh, nu, nd, np := ha.String(), udp.addr.String(), dns.addr.String(), pa.String()
	w := checkKAW
	all := []string{w(nh, 1), w(nu, 1), w(nd, 1), w(np, 1)}
	// but returns all servers but the one named.
	but := func(n string) []string {
		var out []string
		for _, x := range all {
			if !strings.HasPrefix(x, n+"=") {
				out = append(out, x)
			}
		}
		return out
	}
	r.step("start", all, []string{"quorum_up"})
	for _, m := range []string{"503", "other", "hang"} {
		hmode.set(m)
		r.step("http "+m, but(nh), []string{"down " + nh})
		hmode.set("ok")
		r.step("http ok after "+m, all, []string{"up " + nh})
	}
	pmode.set("302")
	r.step("http 302 without status_code", but(np), []string{"down " + np})
	pmode.set("ok")
	r.step("http 200 without status_code", all, []string{"up " + np})
	udp.mode.set("silent")
	r.step("udp silent", but(nu), []string{"down " + nu})
	udp.mode.set("reply")
	r.step("udp replies", all, []string{"up " + nu})
	udp.close()
	r.step("udp port unreachable", but(nu), []string{"down " + nu})
	udp.reopen()
	r.step("udp port back", all, []string{"up " + nu})
	dns.mode.set("dns-fail")
	r.step("dns servfail", but(nd), []string{"down " + nd})
	dns.mode.set("dns-ok")
	r.step("dns noerror", all, []string{"up " + nd})
}
