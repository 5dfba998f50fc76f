package proxy_test

import (
	"context"
	"net/netip"
	"time"

	"github.com/golvs/golvs/dataplane/proxy"
	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
)

// A persistent TCP service on 127.0.0.1:8080 over two real servers.
func Example() {
	d := ipvs.NewDirector(&ipvs.Config{Schedulers: sched.New})
	vip := ipvs.ServiceKey{Protocol: ipvs.ProtoTCP, Addr: netip.MustParseAddr("127.0.0.1"), Port: 8080}
	d.AddService(ipvs.ServiceConfig{ServiceKey: vip, Scheduler: "wlc", Flags: ipvs.SvcPersistent, Timeout: 300})
	for _, rs := range []string{"127.0.0.1:9001", "127.0.0.1:9002"} {
		a := netip.MustParseAddrPort(rs)
		d.AddDest(vip, ipvs.DestConfig{Addr: a.Addr(), Port: a.Port(), Weight: 1, Method: ipvs.FwdMasq})
	}
	p := proxy.New(d, proxy.Options{ProxyProtocol: 2})
	// Serve the director's address services; call again after changes.
	p.Sync(proxy.ServicesOf(d.Services()))

	// ... later: stop accepting, let relays finish for up to 30 s.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p.Shutdown(ctx)
}
