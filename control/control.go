// Package control owns a running director's state: every change from the
// CLI, the API or a reload goes through it, one at a time. Its HTTP API
// serves golvsadm over a Unix socket (and optionally TCP with a token).
package control

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvsadm"
)

// Clock gives the current time on the core's clock.
type Clock interface{ Now() ipvs.Time }

// DataPlane is what the controller tells about configuration changes.
type DataPlane interface {
	// Sync makes the data plane serve exactly these services.
	Sync(svcs []ipvs.ServiceInfo) error
}

// Controller serializes every mutation of one director.
type Controller struct {
	mu    sync.Mutex
	d     *ipvs.Director
	clock Clock
	dp    DataPlane
	log   *slog.Logger

	reload func() error
}

// SetReload sets what POST /v1/reload runs (the daemon's configuration
// reload); without it the endpoint answers that there is nothing to reload.
func (c *Controller) SetReload(f func() error) {
	c.mu.Lock()
	c.reload = f
	c.mu.Unlock()
}

// Reload runs the reload function.
func (c *Controller) Reload() error {
	c.mu.Lock()
	f := c.reload
	c.mu.Unlock()
	if f == nil {
		return errors.New("golvsd runs without a configuration file: nothing to reload")
	}
	return f()
}

// New returns a controller of d. dp may be nil.
func New(d *ipvs.Director, clock Clock, dp DataPlane, log *slog.Logger) *Controller {
	if log == nil {
		log = slog.Default()
	}
	return &Controller{d: d, clock: clock, dp: dp, log: log}
}

// Director returns the controlled director (for read-only use).
func (c *Controller) Director() *ipvs.Director { return c.d }

// IPVSAdm runs one ipvsadm command line against the director and returns
// its output and exit status, as the real ipvsadm would print them.
func (c *Controller) IPVSAdm(args []string, stdin string) (stdout, stderr string, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var o, e bytes.Buffer
	now := c.clock.Now()
	c.d.Advance(now)
	status = ipvsadm.Run(c.d, args, strings.NewReader(stdin), &o, &e, now)
	c.syncLocked()
	if status == 0 && isMutation(args) {
		c.log.Info("ipvsadm", "args", strings.Join(args, " "))
	}
	return o.String(), e.String(), status
}

func isMutation(args []string) bool {
	for _, a := range args {
		switch a {
		case "-A", "-E", "-D", "-C", "-R", "-a", "-e", "-d", "-Z", "--set",
			"--add-service", "--edit-service", "--delete-service", "--clear", "--restore",
			"--add-server", "--edit-server", "--delete-server", "--zero":
			return true
		}
	}
	return false
}

func (c *Controller) syncLocked() {
	if c.dp == nil {
		return
	}
	if err := c.dp.Sync(c.d.Services()); err != nil {
		c.log.Error("data plane sync", "err", err)
	}
}

// Apply runs f with the controller's lock held and syncs the data plane.
func (c *Controller) Apply(f func(d *ipvs.Director, now ipvs.Time) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	c.d.Advance(now)
	err := f(c.d, now)
	c.syncLocked()
	return err
}

// Explain answers what the director would do with a packet.
func (c *Controller) Explain(p ipvs.Packet) *ipvs.Explanation {
	now := c.clock.Now()
	return c.d.Explain(p, now)
}

// Run advances the director's clock every interval until ctx ends.
func (c *Controller) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.d.Advance(c.clock.Now())
		}
	}
}

// Request is an ipvsadm invocation sent to golvsd.
type Request struct {
	Args  []string `json:"args"`
	Stdin string   `json:"stdin,omitempty"`
}

// Response is its result.
type Response struct {
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	Status int    `json:"status"`
}

// ExplainRequest asks what happens to a new packet.
type ExplainRequest struct {
	Protocol string `json:"protocol"` // tcp, udp, sctp
	Client   string `json:"client"`   // addr:port
	Virtual  string `json:"virtual"`  // addr:port
	Mark     uint32 `json:"mark,omitempty"`
}

// ParseExplain turns a request into a packet, with a clear error.
func ParseExplain(r ExplainRequest) (ipvs.Packet, error) {
	var p ipvs.Packet
	switch strings.ToLower(r.Protocol) {
	case "", "tcp":
		p.Protocol, p.TCPFlags = ipvs.ProtoTCP, ipvs.TCPSyn
	case "udp":
		p.Protocol = ipvs.ProtoUDP
	case "sctp":
		p.Protocol, p.SCTPChunk = ipvs.ProtoSCTP, ipvs.SCTPInit
	default:
		return p, fmt.Errorf("explain: unknown protocol %q", r.Protocol)
	}
	c, err := netip.ParseAddrPort(r.Client)
	if err != nil {
		return p, fmt.Errorf("explain: client %q: want addr:port", r.Client)
	}
	v, err := netip.ParseAddrPort(r.Virtual)
	if err != nil {
		return p, fmt.Errorf("explain: virtual %q: want addr:port", r.Virtual)
	}
	p.Src, p.SrcPort, p.Dst, p.DstPort, p.Mark = c.Addr(), c.Port(), v.Addr(), v.Port(), r.Mark
	p.Family = ipvs.FamilyOf(p.Src)
	p.Len = 60
	return p, nil
}

// Handler returns the HTTP API. token, when not empty, is required as a
// bearer token (for the TCP listener).
func (c *Controller) Handler(token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/ipvsadm", func(w http.ResponseWriter, r *http.Request) {
		var req Request
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
			http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
			return
		}
		o, e, st := c.IPVSAdm(req.Args, req.Stdin)
		writeJSON(w, Response{Stdout: o, Stderr: e, Status: st})
	})
	mux.HandleFunc("POST /v1/explain", func(w http.ResponseWriter, r *http.Request) {
		var req ExplainRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
			return
		}
		p, err := ParseExplain(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeJSON(w, c.Explain(p))
	})
	mux.HandleFunc("POST /v1/reload", func(w http.ResponseWriter, r *http.Request) {
		if err := c.Reload(); err != nil {
			http.Error(w, err.Error(), http.StatusUnprocessableEntity)
			return
		}
		writeJSON(w, map[string]string{"status": "reloaded"})
	})
	mux.HandleFunc("GET /v1/services", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, c.d.Services())
	})
	mux.HandleFunc("GET /v1/connections", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, c.d.Conns(c.clock.Now()))
	})
	if token == "" {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
			http.Error(w, "missing or wrong token", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// DefaultSocket is where golvsd listens and golvsadm connects unless told
// otherwise: $GOLVS_SOCKET, /run/golvs/golvsd.sock for root, else a file in
// the temporary directory named after the user id.
func DefaultSocket() string {
	if s := os.Getenv("GOLVS_SOCKET"); s != "" {
		return s
	}
	if os.Geteuid() == 0 {
		return "/run/golvs/golvsd.sock"
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("golvsd-%d.sock", os.Geteuid()))
}

// ListenUnix listens on a Unix socket with mode 0600, replacing a stale one.
func ListenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if conn, err := net.Dial("unix", path); err == nil {
			conn.Close()
			return nil, fmt.Errorf("control socket %s is in use by a running golvsd", path)
		}
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// Client calls a golvsd control API.
type Client struct {
	HTTP  *http.Client
	Base  string
	Token string
}

// NewUnixClient returns a client of the socket at path.
func NewUnixClient(path string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &Client{HTTP: &http.Client{Transport: tr, Timeout: 30 * time.Second}, Base: "http://golvsd"}
}

// IPVSAdm runs an ipvsadm command line remotely.
func (cl *Client) IPVSAdm(args []string, stdin string) (Response, error) {
	var resp Response
	err := cl.post("/v1/ipvsadm", Request{Args: args, Stdin: stdin}, &resp)
	return resp, err
}

// Reload asks the daemon to reload its configuration file.
func (cl *Client) Reload() error {
	var out map[string]string
	return cl.post("/v1/reload", struct{}{}, &out)
}

// Explain asks the daemon to explain a packet.
func (cl *Client) Explain(r ExplainRequest) (*ipvs.Explanation, error) {
	var ex ipvs.Explanation
	err := cl.post("/v1/explain", r, &ex)
	return &ex, err
}

func (cl *Client) post(path string, in, out any) error {
	b, _ := json.Marshal(in)
	req, err := http.NewRequest("POST", cl.Base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if cl.Token != "" {
		req.Header.Set("Authorization", "Bearer "+cl.Token)
	}
	res, err := cl.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		var buf bytes.Buffer
		buf.ReadFrom(res.Body)
		return errors.New(strings.TrimSpace(buf.String()))
	}
	return json.NewDecoder(res.Body).Decode(out)
}
