package check

import (
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// HTTP fetches pages over HTTP or HTTPS (HTTP_GET, SSL_GET): every URL
// must answer with an accepted status code and, when a digest is given, a
// body whose MD5 matches it. Each attempt opens fresh connections.
type HTTP struct {
	// Addr is where to connect, whatever the Host header says.
	Addr netip.AddrPort
	// TLS selects HTTPS. Certificates are not verified unless TLSConfig
	// says otherwise (keepalived's SSL_GET does not verify them).
	TLS       bool
	TLSConfig *tls.Config
	// Host is the Host header and TLS server name (virtualhost); "" means
	// Addr.
	Host string
	URLs []URL
	// MaxBody bounds the bytes read for a digest; 0 means 16 MiB.
	MaxBody int64
}

// URL is one page an [HTTP] probe fetches.
type URL struct {
	// Path is the request path with its query ("/health?full=1").
	Path string
	// Status lists the accepted status codes; empty means 200..299.
	Status []StatusRange
	// Digest is the hex MD5 of the expected body (keepalived's digest), or "".
	Digest string
}

// StatusRange is the range of status codes Min..Max, inclusive.
type StatusRange struct{ Min, Max int }

func (p *HTTP) scheme() string {
	if p.TLS {
		return "https"
	}
	return "http"
}

func (p *HTTP) String() string {
	paths := make([]string, len(p.URLs))
	for i, u := range p.URLs {
		paths[i] = u.Path
	}
	return fmt.Sprintf("%s %s %s", p.scheme(), p.Addr, strings.Join(paths, ","))
}

// Probe fetches every URL in turn; the first failure ends the attempt.
func (p *HTTP) Probe(ctx context.Context) Result {
	host := p.Host
	if host == "" {
		host = p.Addr.String()
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", p.Addr.String())
		},
		DisableKeepAlives:  true,
		DisableCompression: true,
		Proxy:              nil,
	}
	if p.TLS {
		cfg := p.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{InsecureSkipVerify: true}
		}
		cfg = cfg.Clone()
		if cfg.ServerName == "" {
			if h, _, err := net.SplitHostPort(host); err == nil {
				cfg.ServerName = h
			} else {
				cfg.ServerName = host
			}
		}
		tr.TLSClientConfig = cfg
	}
	defer tr.CloseIdleConnections()
	cl := &http.Client{
		Transport: tr,
		// keepalived judges the first answer: a redirect is a status code.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for _, u := range p.URLs {
		if err := p.get(ctx, cl, host, u); err != nil {
			return Result{Err: err}
		}
	}
	return Result{}
}

func (p *HTTP) get(ctx context.Context, cl *http.Client, host string, u URL) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.scheme()+"://"+p.Addr.String()+u.Path, nil)
	if err != nil {
		return err
	}
	req.Host = host
	req.Header.Set("User-Agent", "KeepAliveClient")
	res, err := cl.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if !statusOK(u.Status, res.StatusCode) {
		io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		return fmt.Errorf("GET %s: status %d", u.Path, res.StatusCode)
	}
	if u.Digest == "" {
		io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		return nil
	}
	limit := p.MaxBody
	if limit <= 0 {
		limit = 16 << 20
	}
	h := md5.New()
	if _, err := io.Copy(h, io.LimitReader(res.Body, limit)); err != nil {
		return fmt.Errorf("GET %s: reading body: %w", u.Path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, u.Digest) {
		return fmt.Errorf("GET %s: digest %s, want %s", u.Path, got, strings.ToLower(u.Digest))
	}
	return nil
}

func statusOK(ranges []StatusRange, code int) bool {
	if len(ranges) == 0 {
		return code >= 200 && code <= 299
	}
	for _, r := range ranges {
		if code >= r.Min && code <= r.Max {
			return true
		}
	}
	return false
}
