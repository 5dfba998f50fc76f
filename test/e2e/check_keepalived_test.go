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
	"fmt"
	"io"
	"log/slog"
	"net"
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

// TestCheckAgainstKeepalived fails and revives backends under keepalived's
// checkers and golvs's with the same configuration and compares, after
// each step, the IPVS tables and the notify commands run.
func TestCheckAgainstKeepalived(t *testing.T) {
	// keepalived's checker needs root (raw IPVS socket, script security);
	// the shim needs gcc. Outside CI the test skips without them; in CI,
	// which installs test/e2e/APT-PACKAGES as root, it fails.
	for _, c := range []string{"keepalived", "gcc"} {
		if _, err := exec.LookPath(c); err != nil && !testenv.InCI() {
			t.Skipf("%s is not installed (apt-get install keepalived gcc; CI installs them from test/e2e/APT-PACKAGES): skipped because CI is unset", c)
		}
	}
	testenv.RequireRoot(t)
	testenv.RequireCommands(t, "keepalived", "gcc")
	dir := t.TempDir()

	// The shim.
	shimSrc, shim := filepath.Join(dir, "ipvs_shim.c"), filepath.Join(dir, "ipvs_shim.so")
	if err := os.WriteFile(shimSrc, []byte(checkKAShim), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-shared", "-fPIC", "-O2", "-o", shim, shimSrc, "-ldl").CombinedOutput(); err != nil {
		t.Fatalf("building the IPVS shim: %v\n%s", err, out)
	}

	// Backends: rs1 (weight 1), rs2 (weight 2, inhibit_on_failure), rs3
	// (weight 1, alpha), rs4 (misc_dynamic, weight from a file), and a
	// sorry server that is never checked.
	rs1 := checkKANewBackend(t, "127.0.0.2")
	rs2 := checkKANewBackend(t, "127.0.0.3")
	rs3 := checkKANewBackend(t, "127.0.0.4")
	rs4Port := freePort(t)
	rs4 := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.5"), uint16(rs4Port))
	sorry := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.9"), uint16(freePort(t)))
	vip := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(freePort(t)))
	weightFile := filepath.Join(dir, "rs4.exit")
	setExit := func(code int) {
		if err := os.WriteFile(weightFile, []byte(fmt.Sprint(code)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	setExit(3) // misc_dynamic: weight 1, as configured
	misc := fmt.Sprintf(`/bin/sh -c 'read c < %s; exit "$c"'`, weightFile)

	const (
		delayLoop = 300 * time.Millisecond
		timeout   = 500 * time.Millisecond
		miscTime  = time.Second // misc_timeout takes whole seconds
		dbr       = 200 * time.Millisecond
		retry     = 1
	)
	notify := func(who, file string) (up, down string) {
		return fmt.Sprintf(`/bin/sh -c 'echo up %s >> %s'`, who, file), fmt.Sprintf(`/bin/sh -c 'echo down %s >> %s'`, who, file)
	}
	kaNotes, goNotes := filepath.Join(dir, "keepalived.notify"), filepath.Join(dir, "golvs.notify")

	// keepalived's configuration.
	var conf strings.Builder
	fmt.Fprintf(&conf, "global_defs {\n  script_user root\n  enable_script_security\n}\n")
	fmt.Fprintf(&conf, "virtual_server %s %d {\n  delay_loop %g\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n", vip.Addr(), vip.Port(), delayLoop.Seconds())
	fmt.Fprintf(&conf, "  quorum 3\n  hysteresis 0\n  sorry_server %s %d\n", sorry.Addr(), sorry.Port())
	fmt.Fprintf(&conf, "  quorum_up \"/bin/sh -c 'echo quorum_up >> %s'\"\n  quorum_down \"/bin/sh -c 'echo quorum_down >> %s'\"\n", kaNotes, kaNotes)
	type rsConf struct {
		addr    netip.AddrPort
		weight  int32
		inhibit bool
		alpha   bool
		misc    bool
	}
	servers := []rsConf{
		{addr: rs1.addr, weight: 1},
		{addr: rs2.addr, weight: 2, inhibit: true},
		{addr: rs3.addr, weight: 1, alpha: true},
		{addr: rs4, weight: 1, misc: true},
	}
	for _, s := range servers {
		up, down := notify(s.addr.String(), kaNotes)
		fmt.Fprintf(&conf, "  real_server %s %d {\n    weight %d\n", s.addr.Addr(), s.addr.Port(), s.weight)
		if s.inhibit {
			conf.WriteString("    inhibit_on_failure\n")
		}
		fmt.Fprintf(&conf, "    notify_up %q\n    notify_down %q\n", up, down)
		if s.misc {
			fmt.Fprintf(&conf, "    MISC_CHECK {\n      misc_path %q\n      misc_timeout %g\n      misc_dynamic\n", misc, miscTime.Seconds())
		} else {
			fmt.Fprintf(&conf, "    TCP_CHECK {\n      connect_timeout %g\n", timeout.Seconds())
		}
		fmt.Fprintf(&conf, "      retry %d\n      delay_before_retry %g\n", retry, dbr.Seconds())
		if s.alpha {
			conf.WriteString("      alpha\n")
		}
		conf.WriteString("    }\n  }\n")
	}
	conf.WriteString("}\n")
	confPath := filepath.Join(dir, "keepalived.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	// The same configuration for golvs.
	split := func(s string) []string {
		argv, err := check.SplitCommand(s)
		if err != nil {
			t.Fatal(err)
		}
		return argv
	}
	key := ipvs.ServiceKey{Family: ipvs.AFInet, Protocol: ipvs.ProtoTCP, Addr: vip.Addr(), Port: vip.Port()}
	sorryDest := ipvs.DestConfig{Addr: sorry.Addr(), Port: sorry.Port(), Method: ipvs.FwdMasq, Weight: 1}
	svc := check.Service{Key: key, Quorum: 3, SorryServer: &sorryDest,
		QuorumUp:   split(fmt.Sprintf(`/bin/sh -c 'echo quorum_up >> %s'`, goNotes)),
		QuorumDown: split(fmt.Sprintf(`/bin/sh -c 'echo quorum_down >> %s'`, goNotes)),
	}
	for _, s := range servers {
		up, down := notify(s.addr.String(), goNotes)
		var probe check.Prober = &check.TCP{Addr: s.addr}
		to := timeout
		if s.misc {
			probe, to = &check.Command{Argv: split(misc), Dynamic: true}, miscTime
		}
		svc.Servers = append(svc.Servers, check.Server{
			Dest:             ipvs.DestConfig{Addr: s.addr.Addr(), Port: s.addr.Port(), Method: ipvs.FwdMasq, Weight: s.weight},
			Check:            &check.Check{Probe: probe, Interval: delayLoop, Timeout: to, Retries: retry, DelayBeforeRetry: dbr, Warmup: delayLoop, Alpha: s.alpha},
			InhibitOnFailure: s.inhibit, NotifyUp: split(up), NotifyDown: split(down),
		})
	}
	d := ipvs.NewDirector(&ipvs.Config{Schedulers: sched.New})
	if err := d.AddService(ipvs.ServiceConfig{ServiceKey: key, Scheduler: "rr"}); err != nil {
		t.Fatal(err)
	}
	ctl := control.New(d, checkKAClock{time.Now()}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	chk, err := check.New(ctl, []check.Service{svc}, &check.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}

	// Start both.
	ipvsLog := filepath.Join(dir, "ipvs.log")
	var kaOut checkKASyncBuffer
	ka := exec.Command("keepalived", "-n", "-l", "-D", "-C", "-f", confPath,
		"-p", filepath.Join(dir, "keepalived.pid"), "-c", filepath.Join(dir, "checkers.pid"))
	ka.Env = append(os.Environ(), "LD_PRELOAD="+shim, "GOLVS_IPVS_LOG="+ipvsLog)
	ka.Stdout, ka.Stderr = &kaOut, &kaOut
	if err := ka.Start(); err != nil {
		t.Fatal(err)
	}
	kaDone := make(chan struct{})
	go func() { ka.Wait(); close(kaDone) }()
	defer func() {
		ka.Process.Signal(syscall.SIGTERM)
		select {
		case <-kaDone:
		case <-time.After(10 * time.Second):
			ka.Process.Kill()
			<-kaDone
		}
		if t.Failed() {
			t.Logf("keepalived.conf:\n%s\nkeepalived's output:\n%s\nIPVS commands:\n%s", conf.String(), kaOut.String(), checkKAReadFile(ipvsLog))
		}
	}()
	if err := chk.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer chk.Stop()

	goTable := func() []string {
		si, err := d.Service(key)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range si.Dests {
			out = append(out, fmt.Sprintf("%s=%d", netip.AddrPortFrom(x.Addr, x.Port), x.Weight))
		}
		sort.Strings(out)
		return out
	}
	// The longest a change takes: a failure after a success (FailureBound)
	// or a first check after a warmup of up to delay_loop.
	bound := (&check.Check{Interval: delayLoop, Timeout: miscTime, Retries: retry, DelayBeforeRetry: dbr}).FailureBound() + delayLoop
	var kaSeen, goSeen []string // notify lines of earlier steps
	step := func(name string, wantTable []string, wantNotes []string) {
		t.Helper()
		sort.Strings(wantTable)
		sort.Strings(wantNotes)
		limit := time.Now().Add(3*bound + 5*time.Second)
		var kt, gt, kn, gn []string
		for {
			select {
			case <-kaDone:
				t.Fatalf("%s: keepalived exited", name)
			default:
			}
			kt, gt = checkKATable(t, ipvsLog, vip.String()), goTable()
			kn, gn = checkKANewLines(checkKALines(kaNotes), kaSeen), checkKANewLines(checkKALines(goNotes), goSeen)
			if slices.Equal(kt, wantTable) && slices.Equal(gt, wantTable) && slices.Equal(kn, wantNotes) && slices.Equal(gn, wantNotes) {
				break
			}
			if time.Now().After(limit) {
				t.Fatalf("%s: after %v\nkeepalived table %q\n     golvs table %q\n            want %q\nkeepalived notifies %q\n     golvs notifies %q\n              want %q",
					name, 3*bound+5*time.Second, kt, gt, wantTable, kn, gn, wantNotes)
			}
			time.Sleep(20 * time.Millisecond)
		}
		kaSeen, goSeen = append(kaSeen, kn...), append(goSeen, gn...)
		// Both sides settled: nothing more may come within another bound.
		time.Sleep(bound)
		kt, gt = checkKATable(t, ipvsLog, vip.String()), goTable()
		kn, gn = checkKANewLines(checkKALines(kaNotes), kaSeen), checkKANewLines(checkKALines(goNotes), goSeen)
		if !slices.Equal(kt, wantTable) || !slices.Equal(gt, wantTable) || len(kn) != 0 || len(gn) != 0 {
			t.Fatalf("%s: changed after settling\nkeepalived %q %q\n     golvs %q %q", name, kt, kn, gt, gn)
		}
		t.Logf("%s: both have %q and ran %q", name, wantTable, wantNotes)
	}
	n1, n2, n3, n4 := rs1.addr.String(), rs2.addr.String(), rs3.addr.String(), rs4.String()
	w := func(a string, weight int) string { return fmt.Sprintf("%s=%d", a, weight) }

	// Start: rs3 (alpha) is out until its first success, which is
	// notified; the others start up silently; alive weight 4 >= 3 gives
	// the quorum at once (quorum_up at start).
	step("start", []string{w(n1, 1), w(n2, 2), w(n3, 1), w(n4, 1)}, []string{"quorum_up", "up " + n3})
	// rs1 fails: removed after retry+1 failures.
	rs1.stop()
	step("rs1 fails", []string{w(n2, 2), w(n3, 1), w(n4, 1)}, []string{"down " + n1})
	// rs2 fails: inhibited (weight 0); alive weight 2 < 3: the sorry server
	// replaces the alive servers.
	rs2.stop()
	step("rs2 fails", []string{w(n2, 0), w(sorry.String(), 1)}, []string{"down " + n2, "quorum_down"})
	// The misc check sets rs4's weight to 5: alive weight 6 >= 3, the
	// quorum is back, the alive servers return at their weights.
	setExit(7)
	step("rs4 weight 5", []string{w(n2, 0), w(n3, 1), w(n4, 5)}, []string{"quorum_up"})
	rs1.start()
	step("rs1 recovers", []string{w(n1, 1), w(n2, 0), w(n3, 1), w(n4, 5)}, []string{"up " + n1})
	rs2.start()
	step("rs2 recovers", []string{w(n1, 1), w(n2, 2), w(n3, 1), w(n4, 5)}, []string{"up " + n2})
	// The misc check fails (exit 1): removed.
	setExit(1)
	step("rs4 fails", []string{w(n1, 1), w(n2, 2), w(n3, 1)}, []string{"down " + n4})
	// rs3 fails: alive weight 3 is still the quorum.
	rs3.stop()
	step("rs3 fails", []string{w(n1, 1), w(n2, 2)}, []string{"down " + n3})
	// The misc check recovers with weight 0: alive, in with weight 0.
	setExit(2)
	step("rs4 recovers with weight 0", []string{w(n1, 1), w(n2, 2), w(n4, 0)}, []string{"up " + n4})
	// rs1 fails: alive weight 2 < 3, the sorry server again.
	rs1.stop()
	step("rs1 fails again", []string{w(n2, 0), w(sorry.String(), 1)}, []string{"down " + n1, "quorum_down"})
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
