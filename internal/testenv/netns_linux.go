package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// NetNS is a named network namespace made for a test ("ip netns add"),
// deleted when the test ends. Do runs functions on an OS thread that lives
// in the namespace, so that the sockets they create belong to it; Cmd runs
// programs in it.
//
// A NetNS starts with only its loopback interface: it has no link and no
// route to the host's namespace or its uplink; connect namespaces to each
// other with [Veth].
type NetNS struct {
	Name string

	calls     chan func()
	done      chan struct{}
	closeOnce sync.Once
}

var nsSeq atomic.Uint32

// NewNetNS creates a network namespace with its loopback up.
func NewNetNS(tb testing.TB) *NetNS {
	tb.Helper()
	RequireRoot(tb)
	RequireCommands(tb, "ip")
	name := fmt.Sprintf("golvs-%d-%d", os.Getpid(), nsSeq.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		tb.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	ns := &NetNS{Name: name, calls: make(chan func()), done: make(chan struct{})}
	tb.Cleanup(func() {
		ns.close()
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			tb.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	errc := make(chan error, 1)
	go ns.thread(errc)
	if err := <-errc; err != nil {
		tb.Fatalf("entering namespace %s: %v", name, err)
	}
	ns.Run(tb, "ip", "link", "set", "lo", "up")
	return ns
}

// thread locks itself to an OS thread, moves that thread into the
// namespace and runs the calls of Do on it. The thread is never unlocked:
// it ends with the goroutine instead of going back to the scheduler in a
// foreign namespace.
func (ns *NetNS) thread(errc chan<- error) {
	runtime.LockOSThread()
	defer close(ns.done)
	fd, err := unix.Open("/run/netns/"+ns.Name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		errc <- err
		return
	}
	err = unix.Setns(fd, unix.CLONE_NEWNET)
	unix.Close(fd)
	if err != nil {
		errc <- err
		return
	}
	errc <- nil
	for f := range ns.calls {
		f()
	}
}

func (ns *NetNS) close() {
	ns.closeOnce.Do(func() {
		close(ns.calls)
		<-ns.done
	})
}

// Do runs f on the namespace's thread and returns its error. Sockets that
// f creates stay in the namespace wherever they are used later; goroutines
// that f starts do not run in it.
func (ns *NetNS) Do(f func() error) error {
	errc := make(chan error, 1)
	ns.calls <- func() { errc <- f() }
	return <-errc
}

// Cmd returns a command that runs name with args in the namespace.
func (ns *NetNS) Cmd(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Run runs a command in the namespace, failing tb if it fails, and returns
// its output.
func (ns *NetNS) Run(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	out, err := ns.Cmd(name, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("in %s: %s %s: %v: %s", ns.Name, name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Veth connects two namespaces with a veth pair, aIf in a and bIf in b,
// gives each end its addresses (CIDR notation) and brings both up. No end
// is ever in the host's namespace.
func Veth(tb testing.TB, a *NetNS, aIf string, aAddrs []string, b *NetNS, bIf string, bAddrs []string) {
	tb.Helper()
	out, err := exec.Command("ip", "-n", a.Name, "link", "add", aIf, "type", "veth",
		"peer", "name", bIf, "netns", b.Name).CombinedOutput()
	if err != nil {
		tb.Fatalf("veth %s/%s - %s/%s: %v: %s", a.Name, aIf, b.Name, bIf, err, out)
	}
	for _, end := range []struct {
		ns    *NetNS
		ifc   string
		addrs []string
	}{{a, aIf, aAddrs}, {b, bIf, bAddrs}} {
		for _, ad := range end.addrs {
			args := []string{"addr", "add", ad, "dev", end.ifc}
			if strings.Contains(ad, ":") {
				args = append(args, "nodad")
			}
			end.ns.Run(tb, "ip", args...)
		}
		end.ns.Run(tb, "ip", "link", "set", end.ifc, "up")
	}
}

// CheckIsolated fails tb if the namespace has a default route or a link
// other than loopback and veth ends: a test namespace must not reach the
// host's uplink.
func (ns *NetNS) CheckIsolated(tb testing.TB) {
	tb.Helper()
	for _, fam := range []string{"-4", "-6"} {
		if out := strings.TrimSpace(ns.Run(tb, "ip", fam, "route", "show", "default")); out != "" {
			tb.Fatalf("namespace %s has a default route: %s", ns.Name, out)
		}
	}
	out := ns.Run(tb, "ip", "-d", "-o", "link", "show")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.Contains(line, "link/loopback") && !strings.Contains(line, " veth ") {
			tb.Fatalf("namespace %s has a link other than loopback and veth: %s", ns.Name, line)
		}
	}
}
