package ipvs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Settings are the director-wide tunables, the kernel's sysctls under
// /proc/sys/net/ipv4/vs/ (Documentation/networking/ipvs-sysctl.rst). The zero
// value is not the kernel's default: use [DefaultSettings].
type Settings struct {
	ExpireNodestConn        bool // expire_nodest_conn
	ExpireQuiescentTemplate bool // expire_quiescent_template
	ConnReuseMode           int  // conn_reuse_mode (bitmask, default 1)
	SloppyTCP               bool // sloppy_tcp
	SloppySCTP              bool // sloppy_sctp
	SecureTCP               int  // secure_tcp (0 off; 1,2 automatic; 3 always)
	DropPacket              int  // drop_packet (0 off; 1,2 automatic; 3 always)
	DropEntry               int  // drop_entry (accepted; golvs drops no entries at random)
	AmDroprate              int  // am_droprate: 1 in how many new connections drop_packet=3 drops
	Amemthresh              int  // amemthresh (pages); golvs sees no memory pressure
	CacheBypass             bool // cache_bypass
	NATICMPSend             bool // nat_icmp_send
	ScheduleICMP            bool // schedule_icmp
	Conntrack               bool // conntrack
	RunEstimation           bool // run_estimation
	// LBLCExpiration and LBLCRExpiration are lblc_expiration and
	// lblcr_expiration (default 24 h).
	LBLCExpiration  time.Duration
	LBLCRExpiration time.Duration
	// UnprivilegedPortStart is net.ipv4.ip_unprivileged_port_start (1024),
	// used by the FTP service fallback (ip_vs_ctl.c: ip_vs_service_find).
	UnprivilegedPortStart uint16
	// MaxConns bounds the connection table (templates included); 0 means no
	// limit, as in the kernel. New entries beyond it are refused and counted.
	MaxConns int
}

// DefaultSettings returns the kernel's defaults.
func DefaultSettings() Settings {
	return Settings{
		ConnReuseMode:         1,
		RunEstimation:         true,
		AmDroprate:            10,
		Amemthresh:            1024,
		LBLCExpiration:        24 * time.Hour,
		LBLCRExpiration:       24 * time.Hour,
		UnprivilegedPortStart: 1024,
	}
}

// SysctlNames lists the sysctls [Settings.Set] accepts, as named under
// /proc/sys/net/ipv4/vs/.
var SysctlNames = []string{
	"am_droprate", "amemthresh", "backup_only", "cache_bypass", "conn_reuse_mode", "conntrack",
	"drop_entry", "drop_packet", "expire_nodest_conn", "expire_quiescent_template", "ignore_tunneled",
	"lblc_expiration", "lblcr_expiration", "nat_icmp_send", "pmtu_disc", "run_estimation",
	"schedule_icmp", "secure_tcp", "sloppy_sctp", "sloppy_tcp", "snat_reroute", "sync_persist_mode",
	"sync_ports", "sync_qlen_max", "sync_refresh_period", "sync_retries", "sync_sock_size",
	"sync_threshold", "sync_version",
}

// Set sets one sysctl by its kernel name from its text value, with the
// kernel's validation (ip_vs_ctl.c: vs_vars and their handlers). Sysctls
// that golvs keeps only for compatibility are accepted and have no effect.
func (s *Settings) Set(name, value string) error {
	v, err := strconv.Atoi(strings.TrimSpace(value))
	if err != nil && name != "sync_threshold" {
		return fmt.Errorf("sysctl %s: %q is not an integer", name, value)
	}
	b := v != 0
	switch name {
	case "expire_nodest_conn":
		s.ExpireNodestConn = b
	case "expire_quiescent_template":
		s.ExpireQuiescentTemplate = b
	case "conn_reuse_mode":
		s.ConnReuseMode = v
	case "sloppy_tcp":
		s.SloppyTCP = b
	case "sloppy_sctp":
		s.SloppySCTP = b
	case "secure_tcp", "drop_entry", "drop_packet":
		// proc_do_defense_mode: 0..3
		if v < 0 || v > 3 {
			return fmt.Errorf("sysctl %s: %d out of range 0..3", name, v)
		}
		switch name {
		case "secure_tcp":
			s.SecureTCP = v
		case "drop_packet":
			s.DropPacket = v
		default:
			s.DropEntry = v
		}
	case "am_droprate":
		s.AmDroprate = v
	case "amemthresh":
		s.Amemthresh = v
	case "cache_bypass":
		s.CacheBypass = b
	case "nat_icmp_send":
		s.NATICMPSend = b
	case "schedule_icmp":
		s.ScheduleICMP = b
	case "conntrack":
		s.Conntrack = b
	case "run_estimation":
		s.RunEstimation = b
	case "lblc_expiration":
		s.LBLCExpiration = time.Duration(v) * time.Second
	case "lblcr_expiration":
		s.LBLCRExpiration = time.Duration(v) * time.Second
	case "sync_version":
		if v < 0 || v > 1 {
			return fmt.Errorf("sysctl %s: %d out of range 0..1", name, v)
		}
	case "sync_ports":
		if v < 1 || v > 64 || v&(v-1) != 0 {
			return fmt.Errorf("sysctl %s: %d is not a power of two up to 64", name, v)
		}
	case "backup_only", "ignore_tunneled", "pmtu_disc", "snat_reroute",
		"sync_persist_mode", "sync_qlen_max", "sync_refresh_period", "sync_retries", "sync_sock_size",
		"sync_threshold":
	default:
		return fmt.Errorf("sysctl %s: unknown IPVS setting", name)
	}
	return nil
}
