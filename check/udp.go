package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"
)

// UDP sends one datagram (UDP_CHECK). Without RequireReply the server is
// healthy unless an ICMP error (port or host unreachable) comes back before
// the deadline, so a healthy attempt lasts the whole timeout; with
// RequireReply a reply must arrive, and its first bytes must match Reply
// (as keepalived, only min(len(reply), len(Reply)) bytes are compared).
type UDP struct {
	Addr         netip.AddrPort
	Payload      []byte
	RequireReply bool
	Reply        []byte
}

func (p *UDP) String() string { return "udp " + p.Addr.String() }

// Probe sends the payload and waits for a reply, an ICMP error or the
// deadline.
func (p *UDP) Probe(ctx context.Context) Result {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", p.Addr.String())
	if err != nil {
		return Result{Err: err}
	}
	defer c.Close()
	stop := deadlineConn(ctx, c)
	defer stop()
	if _, err := c.Write(p.Payload); err != nil {
		return Result{Err: err}
	}
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	switch {
	case err == nil:
		if p.RequireReply {
			m := min(n, len(p.Reply))
			if !bytes.Equal(buf[:m], p.Reply[:m]) {
				return Result{Err: fmt.Errorf("reply % x does not match % x", buf[:m], p.Reply[:m])}
			}
		}
		return Result{}
	case errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != context.Canceled:
		if p.RequireReply {
			return Result{Err: errors.New("no reply before the timeout")}
		}
		return Result{} // no ICMP error: healthy
	}
	return Result{Err: err}
}

// deadlineConn sets c's deadline to ctx's and makes a cancellation of ctx
// interrupt c's I/O at once. The returned function releases the hook; no
// goroutine is left running.
func deadlineConn(ctx context.Context, c net.Conn) (stop func() bool) {
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	return context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
}
