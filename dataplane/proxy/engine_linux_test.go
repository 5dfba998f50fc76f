package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// On Linux the event loops serve TCP; many short and kept-alive connections
// at once go through them intact, and every flow ends.
func TestLoopEngine(t *testing.T) {
	r := newRig(t, rigOpts{backends: 2})
	if len(r.p.loops) == 0 {
		t.Fatal("no event loop serves TCP on Linux")
	}
	const clients, msgs = 64, 20
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				// A short connection.
				if _, err := ask(t, netip.Addr{}, r.vip); err != nil {
					errs <- err
				}
				return
			}
			// A kept-alive one: messages of growing size, echoed.
			c, err := dial(t, netip.Addr{}, r.vip)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			fmt.Fprintf(c, "ECHO\n")
			for m := range msgs {
				line := strings.Repeat(fmt.Sprint(i), 1+m*m*100) + "\n"
				if _, err := io.WriteString(c, line); err != nil {
					errs <- err
					return
				}
				got, err := br.ReadString('\n')
				if err != nil || got != line {
					errs <- fmt.Errorf("client %d message %d: %d bytes back, %v", i, m, len(got), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	r.waitIdle(t)
	if c := r.p.Counters(); c.Accepted != clients || c.Forwarded != clients || c.Errors != 0 {
		t.Fatalf("counters %+v", c)
	}
}

// The goroutine engine, which serves TCP on other systems, passes the TCP
// tests too.
func TestGoroutineEngine(t *testing.T) {
	useLoops = false
	defer func() { useLoops = true }()
	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"Persistence", TestTCPPersistence}, {"TemplateExpiry", TestTemplateExpiryReschedules},
		{"RealServerRemoved", TestRealServerRemoved}, {"IdleRelayExpires", TestIdleRelayExpires},
		{"NoDest", TestNoDestResets}, {"BackendRefused", TestBackendRefused},
		{"Integrity", TestTCPIntegrity}, {"HalfClose", TestHalfClose},
		{"ProxyProtocol", TestProxyProtocol}, {"Sync", TestSync}, {"Shutdown", TestShutdown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t)
			if r := New(newDirector(), Options{}); len(r.loops) != 0 {
				r.Close()
				t.Fatal("event loops started")
			} else {
				r.Close()
			}
		})
	}
}
