package check

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// backendEnv makes the test binary a backend server instead of running
// the tests: "KIND ADDR" with KIND tcp or http.
const backendEnv = "GOLVS_CHECK_BACKEND"

func TestMain(m *testing.M) {
	if spec := os.Getenv(backendEnv); spec != "" {
		serveBackend(spec)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveBackend listens on ADDR, prints "ready ADDR" and serves until
// killed: tcp accepts and closes connections, http answers GET /health
// with 200 "ok".
func serveBackend(spec string) {
	kind, addr, _ := strings.Cut(spec, " ")
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("ready %s\n", l.Addr())
	switch kind {
	case "http":
		mux := http.NewServeMux()
		mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
		http.Serve(l, mux)
	default:
		for {
			c, err := l.Accept()
			if err != nil {
				os.Exit(2)
			}
			c.Close()
		}
	}
}

// backend is a server process on loopback that a test kills, hangs
// (SIGSTOP: the kernel still accepts connections, nobody answers) and
// revives on the same address.
type backend struct {
	t    *testing.T
	kind string
	addr netip.AddrPort
	cmd  *exec.Cmd
}

// startBackend starts a backend on ip (a 127.0.0.0/8 address) and a free
// port.
func startBackend(t *testing.T, kind, ip string) *backend {
	t.Helper()
	b := &backend{t: t, kind: kind}
	b.start(ip + ":0")
	t.Cleanup(b.kill)
	return b
}

func (b *backend) start(addr string) {
	b.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), backendEnv+"="+b.kind+" "+addr)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		b.t.Fatalf("backend %s %s did not start: %v", b.kind, addr, err)
	}
	ap, err := netip.ParseAddrPort(strings.TrimSpace(strings.TrimPrefix(line, "ready ")))
	if err != nil {
		b.t.Fatal(err)
	}
	b.addr, b.cmd = ap, cmd
}

// kill ends the process (and resumes it first if it hangs).
func (b *backend) kill() {
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Signal(syscall.SIGCONT)
	b.cmd.Process.Kill()
	b.cmd.Wait()
	b.cmd = nil
}

func (b *backend) hang()   { b.cmd.Process.Signal(syscall.SIGSTOP) }
func (b *backend) resume() { b.cmd.Process.Signal(syscall.SIGCONT) }

// revive starts the process again on its address; the port may take a
// moment to be free again.
func (b *backend) revive() {
	b.t.Helper()
	b.kill()
	b.start(b.addr.String())
}

// eventWaiter collects a checker's events.
type eventWaiter struct {
	ch  chan Event
	log []Event
}

func newEventWaiter() *eventWaiter { return &eventWaiter{ch: make(chan Event, 4096)} }

func (w *eventWaiter) onEvent(e Event) {
	select {
	case w.ch <- e:
	default:
		panic("event channel full")
	}
}

// waitFor returns the first event of kind (for server, "" any), failing
// the test if another state change of that server comes first, or if
// none comes by the deadline, which tests derive from the check's bounds.
func (w *eventWaiter) waitFor(t *testing.T, kind EventKind, server string, within time.Duration) Event {
	t.Helper()
	limit := time.After(within)
	for {
		select {
		case e := <-w.ch:
			w.log = append(w.log, e)
			if server != "" && e.Server != server {
				continue
			}
			if e.Kind == kind {
				return e
			}
			if (e.Kind == EventUp || e.Kind == EventDown) && server != "" {
				t.Fatalf("server %s: %s while waiting for %s", server, e.Kind, kind)
			}
		case <-limit:
			t.Fatalf("no %s event for %q within %v; events: %+v", kind, server, within, w.log)
		}
	}
}

// slack turns a bound derived from the configuration into a deadline for
// a loaded 2-core machine: three times the bound, plus two seconds.
func slack(bound time.Duration) time.Duration { return 3*bound + 2*time.Second }
