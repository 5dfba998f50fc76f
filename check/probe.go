package check

import (
	"context"
	"net"
	"net/netip"
)

// Prober runs one check attempt against a real server. Probe must return
// by the deadline of ctx (the check's timeout) and leave nothing running
// behind it: no goroutine, socket or process outlives the call.
type Prober interface {
	Probe(ctx context.Context) Result
	// String describes the probe for status and logs ("tcp 10.0.0.2:80").
	String() string
}

// Result is the outcome of one attempt.
type Result struct {
	// Err is nil when the server is healthy, else why it is not.
	Err error
	// Weight is the server's new weight when WeightSet (a misc check with
	// misc_dynamic that exited 2..255: weight exit-2).
	Weight    int32
	WeightSet bool
}

// TCP checks that a TCP connection can be opened (TCP_CHECK): the
// connection is closed as soon as it is established.
type TCP struct {
	Addr netip.AddrPort
}

// Probe dials the server.
func (p *TCP) Probe(ctx context.Context) Result {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", p.Addr.String())
	if err != nil {
		return Result{Err: err}
	}
	c.Close()
	return Result{}
}

func (p *TCP) String() string { return "tcp " + p.Addr.String() }
