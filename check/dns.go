package check

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
)

// DNS sends one query over UDP (DNS_CHECK): the server is healthy when a
// response with the query's id comes back with RCODE NOERROR. As
// keepalived, an empty answer section is healthy too: the check proves the
// server answers, not what it knows. Replies with another id are ignored.
type DNS struct {
	Addr netip.AddrPort
	// Name is the question's name; "" means the root ".".
	Name string
	// Type is the question's type; 0 means SOA.
	Type dnsmessage.Type
}

// DNSTypes are the query types keepalived's DNS_CHECK accepts, by name.
var DNSTypes = map[string]dnsmessage.Type{
	"A": dnsmessage.TypeA, "NS": dnsmessage.TypeNS, "CNAME": dnsmessage.TypeCNAME,
	"SOA": dnsmessage.TypeSOA, "MX": dnsmessage.TypeMX, "TXT": dnsmessage.TypeTXT,
	"AAAA": dnsmessage.TypeAAAA, "RRSIG": 46, "DNSKEY": 48,
}

// ParseDNSType returns the type named s (case-insensitive, from [DNSTypes]).
func ParseDNSType(s string) (dnsmessage.Type, error) {
	if t, ok := DNSTypes[strings.ToUpper(s)]; ok {
		return t, nil
	}
	return 0, fmt.Errorf("dns check: unknown query type %q", s)
}

func (p *DNS) question() (dnsmessage.Question, error) {
	name := p.Name
	if name == "" {
		name = "."
	}
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	n, err := dnsmessage.NewName(name)
	if err != nil {
		return dnsmessage.Question{}, fmt.Errorf("dns check: name %q: %w", p.Name, err)
	}
	t := p.Type
	if t == 0 {
		t = dnsmessage.TypeSOA
	}
	return dnsmessage.Question{Name: n, Type: t, Class: dnsmessage.ClassINET}, nil
}

func (p *DNS) String() string {
	q, err := p.question()
	if err != nil {
		return "dns " + p.Addr.String()
	}
	return fmt.Sprintf("dns %s %s %s", p.Addr, q.Name, strings.TrimPrefix(q.Type.String(), "Type"))
}

// Probe sends the query and reads replies until one matches or the
// deadline passes.
func (p *DNS) Probe(ctx context.Context) Result {
	q, err := p.question()
	if err != nil {
		return Result{Err: err}
	}
	id := uint16(rand.Uint32())
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return Result{Err: err}
	}
	if err := b.Question(q); err != nil {
		return Result{Err: err}
	}
	msg, err := b.Finish()
	if err != nil {
		return Result{Err: err}
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", p.Addr.String())
	if err != nil {
		return Result{Err: err}
	}
	defer c.Close()
	stop := deadlineConn(ctx, c)
	defer stop()
	if _, err := c.Write(msg); err != nil {
		return Result{Err: err}
	}
	buf := make([]byte, 65536)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return Result{Err: err}
		}
		var ps dnsmessage.Parser
		h, err := ps.Start(buf[:n])
		if err != nil || h.ID != id || !h.Response {
			continue // keepalived reads on: not our answer
		}
		if h.RCode != dnsmessage.RCodeSuccess {
			return Result{Err: fmt.Errorf("dns %s: rcode %s", q.Name, strings.TrimPrefix(h.RCode.String(), "RCode"))}
		}
		return Result{}
	}
}
