package replay

import (
	"net/netip"
	"syscall"

	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvsadm"
)

// guestTarget is the director as ipvsadm sees it in the oracle's guest:
// the core plus the kernel's sync-daemon bookkeeping (ip_vs_sync.c:
// start_sync_thread, stop_sync_thread). No synchronisation traffic is
// played; the daemons exist for --start-daemon, --stop-daemon and
// -L --daemon.
type guestTarget struct {
	*ipvs.Director
	daemons []ipvsadm.DaemonConfig // master first, as ipvsadm lists them
}

// defaultSyncGroup is IP_VS_SYNC_GROUP (224.0.0.81).
var defaultSyncGroup = netip.AddrFrom4([4]byte{224, 0, 0, 81})

// guestIfaces are the guest director's interfaces (guest-init), all with
// MTU 1500 but lo.
var guestIfaces = map[string]int{"lo": 65536, "d0": 1500, "d1": 1500}

// StartDaemon mirrors start_sync_thread: one daemon per state; the
// interface must exist (ENODEV); defaults as the kernel fills them.
func (g *guestTarget) StartDaemon(d ipvsadm.DaemonConfig) error {
	for _, x := range g.daemons {
		if x.State == d.State {
			return ipvsadm.ErrDaemonRunning
		}
	}
	mtu, ok := guestIfaces[d.McastIfn]
	if !ok {
		return syscall.ENODEV
	}
	if d.SyncMaxLen == 0 {
		// set_sync_mesg_maxlen: the interface MTU less the IP and UDP
		// headers.
		d.SyncMaxLen = uint16(min(mtu-20-8, 65507))
	}
	if !d.McastGroup.IsValid() {
		d.McastGroup = defaultSyncGroup
	}
	if d.McastPort == 0 {
		d.McastPort = 8848
	}
	if d.McastTTL == 0 {
		d.McastTTL = 1
	}
	if d.State == ipvsadm.DaemonMaster {
		g.daemons = append([]ipvsadm.DaemonConfig{d}, g.daemons...)
	} else {
		g.daemons = append(g.daemons, d)
	}
	return nil
}

// StopDaemon mirrors stop_sync_thread (ESRCH when none runs).
func (g *guestTarget) StopDaemon(d ipvsadm.DaemonConfig) error {
	for i, x := range g.daemons {
		if x.State == d.State {
			g.daemons = append(g.daemons[:i], g.daemons[i+1:]...)
			return nil
		}
	}
	return ipvsadm.ErrNoDaemon
}

// Daemons returns the running daemons, master first.
func (g *guestTarget) Daemons() []ipvsadm.DaemonConfig {
	return append([]ipvsadm.DaemonConfig(nil), g.daemons...)
}
