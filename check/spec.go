package check

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/metrics"
)

// Defaults for the zero values of a [Check], as keepalived's.
const (
	DefaultInterval = 60 * time.Second // delay_loop
	DefaultTimeout  = 5 * time.Second  // connect_timeout
)

// Service is a virtual service whose real servers are checked: keepalived's
// virtual_server block. The checker owns the dests it lists (its servers
// and its sorry server) in the director; other dests of the service are
// left alone.
type Service struct {
	// Key names the service in the director; it must exist there when the
	// checker starts.
	Key ipvs.ServiceKey
	// Servers are the real servers. A server without a Check is always
	// alive and counts toward the quorum, as a keepalived real_server
	// without a checker.
	Servers []Server
	// Quorum is the least total weight of alive servers the service needs
	// (keepalived's quorum); 0 means 1.
	Quorum uint32
	// Hysteresis widens the quorum: it is gained at Quorum+Hysteresis and
	// lost below Quorum-Hysteresis.
	Hysteresis uint32
	// SorryServer, when not nil, replaces the real servers while the quorum
	// is lost (sorry_server). Port 0 means the service's port; weight 0
	// means 1.
	SorryServer *ipvs.DestConfig
	// QuorumUp and QuorumDown are commands run when the quorum is gained or
	// lost (quorum_up, quorum_down), argv form; nil: none.
	QuorumUp, QuorumDown []string
	// Omega runs the notify_down commands of alive servers and the
	// QuorumDown command when the checker stops (keepalived's omega, a
	// virtual_server option).
	Omega bool
}

// Server is a real server of a checked service.
type Server struct {
	// Dest is the real server as it is installed when alive; Dest.Weight is
	// its configured weight (a dynamic misc check may change it).
	Dest ipvs.DestConfig
	// Check is how the server is checked; nil: never checked, always alive.
	Check *Check
	// InhibitOnFailure keeps a failed server in the director with weight 0
	// instead of removing it (inhibit_on_failure).
	InhibitOnFailure bool
	// NotifyUp and NotifyDown are commands run when the server comes up or
	// goes down (notify_up, notify_down), argv form; nil: none.
	NotifyUp, NotifyDown []string
}

// Check is how one real server is checked: keepalived's checker block with
// its timing options.
type Check struct {
	// Probe runs one attempt.
	Probe Prober
	// Interval is the time between checks (delay_loop); 0 means
	// DefaultInterval.
	Interval time.Duration
	// Timeout bounds one attempt (connect_timeout, misc_timeout); 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Retries is keepalived's retry: how many more failed attempts, after
	// a first failure, it takes to mark an up server down. A server goes
	// down after Retries+1 failures in a row. 0 means the first failure.
	// As in keepalived 2.x, retries start counting after the first
	// success: until then one failure is enough.
	Retries int
	// DelayBeforeRetry is the pause after a failed attempt that is to be
	// retried (delay_before_retry); 0 retries at once.
	DelayBeforeRetry time.Duration
	// Warmup delays the first attempt by a random time in [0, Warmup].
	Warmup time.Duration
	// Alpha starts the server down until its first successful check (the
	// default starts it up until Retries+1 failures).
	Alpha bool
}

// withDefaults fills the zero Interval and Timeout.
func (c Check) withDefaults() Check {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

// FailureBound is the longest time from a server's failure to its being
// marked down, for a failure that starts after a successful check
// (warmup excluded): one interval, then Retries+1 attempts that each may
// last the whole timeout, separated by Retries delays before retry. Tests
// derive their deadlines from it.
func (c Check) FailureBound() time.Duration {
	c = c.withDefaults()
	r := time.Duration(max(c.Retries, 0))
	return c.Interval + r*c.DelayBeforeRetry + (r+1)*c.Timeout
}

// RecoveryBound is the longest time from a down server's recovery to its
// being marked up: a down server is checked every interval, and one
// success brings it up.
func (c Check) RecoveryBound() time.Duration {
	c = c.withDefaults()
	return c.Interval + c.Timeout
}

func (c *Check) validate() error {
	if c.Probe == nil {
		return errors.New("check has no probe")
	}
	if c.Interval < 0 || c.Timeout < 0 || c.DelayBeforeRetry < 0 || c.Warmup < 0 {
		return errors.New("check has a negative duration")
	}
	if c.Retries < 0 {
		return fmt.Errorf("check retries %d is negative", c.Retries)
	}
	return nil
}

func destName(dc ipvs.DestConfig) string {
	return netip.AddrPortFrom(dc.Addr, dc.Port).String()
}

func (s *Service) validate() error {
	name := metrics.ServiceName(s.Key)
	if s.Key.FWMark == 0 && !s.Key.Addr.IsValid() {
		return fmt.Errorf("service %s: no address", name)
	}
	seen := make(map[netip.AddrPort]bool)
	for i := range s.Servers {
		sv := &s.Servers[i]
		ap := netip.AddrPortFrom(sv.Dest.Addr, sv.Dest.Port)
		if !sv.Dest.Addr.IsValid() {
			return fmt.Errorf("service %s: server %d has no address", name, i)
		}
		if seen[ap] {
			return fmt.Errorf("service %s: server %s listed twice", name, ap)
		}
		seen[ap] = true
		if sv.Dest.Weight < 0 {
			return fmt.Errorf("service %s: server %s: weight %d is negative", name, ap, sv.Dest.Weight)
		}
		if sv.Check != nil {
			if err := sv.Check.validate(); err != nil {
				return fmt.Errorf("service %s: server %s: %w", name, ap, err)
			}
		}
	}
	if s.SorryServer != nil && !s.SorryServer.Addr.IsValid() {
		return fmt.Errorf("service %s: sorry server has no address", name)
	}
	return nil
}
