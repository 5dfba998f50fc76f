package ipvs

import "time"

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
		LBLCExpiration:        24 * time.Hour,
		LBLCRExpiration:       24 * time.Hour,
		UnprivilegedPortStart: 1024,
	}
}
