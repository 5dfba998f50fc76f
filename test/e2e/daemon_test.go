// Package e2e holds end-to-end tests that run golvs's binaries as
// processes.
package e2e

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildBinaries builds golvsd and golvsadm into a temporary directory.
func buildBinaries(t *testing.T) (golvsd, golvsadm string) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "github.com/golvs/golvs/cmd/golvsd", "github.com/golvs/golvs/cmd/golvsadm")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "golvsd"), filepath.Join(dir, "golvsadm")
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// echoServer echoes every byte it reads, until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return l.Addr().String()
}

type daemon struct {
	t        *testing.T
	cmd      *exec.Cmd
	adm      string
	sock     string
	stderr   *bytes.Buffer
	mu       sync.Mutex
	finished chan error
}

func (d *daemon) golvsadm(args ...string) (string, int) {
	d.t.Helper()
	cmd := exec.Command(d.adm, args...)
	cmd.Env = append(os.Environ(), "GOLVS_SOCKET="+d.sock)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		d.t.Fatalf("golvsadm %v: %v", args, err)
	}
	return string(out), code
}

func startDaemon(t *testing.T, golvsd, golvsadm string, args ...string) *daemon {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "golvsd.sock")
	d := &daemon{t: t, adm: golvsadm, sock: sock, stderr: &bytes.Buffer{}, finished: make(chan error, 1)}
	d.cmd = exec.Command(golvsd, append([]string{"-socket", sock}, args...)...)
	d.cmd.Stderr = d.stderr
	d.cmd.Stdout = io.Discard
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.finished <- d.cmd.Wait() }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("golvsd stderr:\n%s", d.stderr)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, code := d.golvsadm("-L", "-n"); code == 0 {
			return d
		}
		select {
		case err := <-d.finished:
			t.Fatalf("golvsd exited: %v\n%s", err, d.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("golvsd did not answer on %s", sock)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDaemonReloadKeepsStream starts golvsd as a process with a
// configuration file, drives it only with golvsadm, reloads it (API and
// SIGHUP) while a long TCP stream runs through a service the reload keeps,
// checks that a bad file changes nothing, and stops it with SIGTERM.
func TestDaemonReloadKeepsStream(t *testing.T) {
	golvsd, golvsadm := buildBinaries(t)
	rs1, rs2 := echoServer(t), echoServer(t)
	vport, vport2 := freePort(t), freePort(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "golvs.yaml")
	writeCfg := func(extra string) {
		cfg := fmt.Sprintf(`services:
  - tcp: 127.0.0.1:%d
    scheduler: rr
    persistent: 300
    servers:
      - address: %s
      - address: %s
%s`, vport, rs1, rs2, extra)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeCfg("")
	if out, err := exec.Command(golvsd, "-check-config", "-config", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("-check-config: %v\n%s", err, out)
	}
	d := startDaemon(t, golvsd, golvsadm, "-config", cfgPath)
	list, _ := d.golvsadm("-L", "-n")
	if !strings.Contains(list, fmt.Sprintf("TCP  127.0.0.1:%d rr persistent 300", vport)) {
		t.Fatalf("service missing from listing:\n%s", list)
	}

	// A long stream: 64 KiB chunks echoed back, checksummed both ways.
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", vport), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sent, recv := sha256.New(), sha256.New()
	var total int
	chunk := make([]byte, 64<<10)
	back := make([]byte, len(chunk))
	pump := func(rounds int) {
		t.Helper()
		for i := 0; i < rounds; i++ {
			for j := range chunk {
				chunk[j] = byte(total + i + j)
			}
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.Write(chunk); err != nil {
				t.Fatalf("stream write after %d bytes: %v", total, err)
			}
			if _, err := io.ReadFull(conn, back); err != nil {
				t.Fatalf("stream read after %d bytes: %v", total, err)
			}
			sent.Write(chunk)
			recv.Write(back)
			total += len(chunk)
		}
	}
	pump(16)

	// Reload through the API with a second service added.
	writeCfg(fmt.Sprintf(`  - udp: 127.0.0.1:%d
    scheduler: wlc
    servers:
      - address: %s
`, vport2, rs1))
	if out, code := d.golvsadm("reload"); code != 0 {
		t.Fatalf("reload: %d %s", code, out)
	}
	pump(16)
	list, _ = d.golvsadm("-L", "-n")
	if !strings.Contains(list, fmt.Sprintf("UDP  127.0.0.1:%d wlc", vport2)) {
		t.Fatalf("reloaded service missing:\n%s", list)
	}

	// A bad file: the reload is refused and nothing changes.
	before, _ := d.golvsadm("-S", "-n")
	os.WriteFile(cfgPath, []byte("services:\n  - tcp: 127.0.0.1:1\n    scheduler: nosuch\n"), 0o644)
	if out, code := d.golvsadm("reload"); code == 0 || !strings.Contains(out, "nosuch") {
		t.Fatalf("bad reload accepted or unclear: %d %s", code, out)
	}
	after, _ := d.golvsadm("-S", "-n")
	if before != after {
		t.Fatalf("a refused reload changed the state:\n%s\n---\n%s", before, after)
	}

	// SIGHUP with the first file again: the UDP service goes, the stream stays.
	writeCfg("")
	d.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, _ = d.golvsadm("-L", "-n")
		if !strings.Contains(list, "UDP") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP reload not applied:\n%s", list)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pump(16)
	if !bytes.Equal(sent.Sum(nil), recv.Sum(nil)) {
		t.Fatal("stream corrupted across reloads")
	}
	conns, _ := d.golvsadm("-L", "-n", "-c")
	if !strings.Contains(conns, "ESTABLISHED") {
		t.Errorf("the stream's connection is not listed as ESTABLISHED:\n%s", conns)
	}

	// Stop: SIGTERM ends the daemon within its drain bound.
	conn.Close()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.finished:
	case <-time.After(30 * time.Second):
		t.Fatal("golvsd did not stop after SIGTERM")
	}
}

// TestDaemonHealthCheck runs golvsd with a TCP health check, stops one
// real server and checks through golvsadm that the server is taken out
// and comes back when it listens again.
func TestDaemonHealthCheck(t *testing.T) {
	golvsd, golvsadm := buildBinaries(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rs := l.Addr().String()
	l.Close() // down at start
	good := echoServer(t)
	vport := freePort(t)
	cfgPath := filepath.Join(t.TempDir(), "golvs.yaml")
	cfg := fmt.Sprintf(`services:
  - tcp: 127.0.0.1:%d
    scheduler: rr
    servers:
      - address: %s
        check: {type: tcp, interval: 200ms, timeout: 200ms, retries: 0}
      - address: %s
        check: {type: tcp, interval: 200ms, timeout: 200ms, retries: 0}
`, vport, rs, good)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, golvsd, golvsadm, "-config", cfgPath)
	waitFor := func(what string, ok func(list, health string) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			list, _ := d.golvsadm("-L", "-n")
			h, _ := d.golvsadm("health")
			if ok(list, h) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not reached\n%s\n%s", what, list, h)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("dead server removed", func(list, h string) bool {
		return !strings.Contains(list, rs) && strings.Contains(list, good) && strings.Contains(h, "down")
	})
	l2, err := net.Listen("tcp", rs)
	if err != nil {
		t.Fatalf("cannot listen on %s again: %v", rs, err)
	}
	defer l2.Close()
	go func() {
		for {
			c, err := l2.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	waitFor("revived server back", func(list, h string) bool {
		return strings.Contains(list, rs) && !strings.Contains(h, " down ")
	})
}
