package ipvsadm

import (
	"strings"
	"testing"

	"github.com/golvs/golvs/ipvs"
	"github.com/golvs/golvs/ipvs/sched"
)

var _ Target = (*ipvs.Director)(nil)

// TestDirectorRoundTrip drives the real core: every kind of service and
// real server through ipvsadm, then -S, -C and -R give the same rules.
func TestDirectorRoundTrip(t *testing.T) {
	d := ipvs.NewDirector(&ipvs.Config{Schedulers: sched.Factory()})
	richConfig(t, d)
	saved := mustRun(t, d, "-S", "-n")
	list := mustRun(t, d, "-L", "-n", "--tun-info")
	for _, want := range []string{
		"-A -t 10.0.0.1:80 -s wlc -p 30 -M 255.255.255.0\n",
		"-A -f 5 -6 -s rr -p 30 -M 96\n",
		"-a -t [2001:db8::1]:80 -r 10.8.0.11:80 -i -w 1 --tun-type ipip\n",
		"-A -t 10.0.0.4:21 -s lblc -p 10 -M 255.0.255.0\n",
	} {
		if !strings.Contains(saved, want) {
			t.Errorf("save lacks %q:\n%s", want, saved)
		}
	}
	mustRun(t, d, "-C")
	if got := mustRun(t, d, "-S", "-n"); got != "" {
		t.Fatalf("after -C: %q", got)
	}
	if o, e, rc := run(t, d, saved, "-R"); o != "" || e != "" || rc != 0 {
		t.Fatalf("restore: %d %q %q", rc, o, e)
	}
	if got := mustRun(t, d, "-S", "-n"); got != saved {
		t.Errorf("after -R:\n%s\nwant:\n%s", got, saved)
	}
	if got := mustRun(t, d, "-L", "-n", "--tun-info"); got != list {
		t.Errorf("listing after -R:\n%s\nwant:\n%s", got, list)
	}
	// operations by key find what ipvsadm created
	for _, l := range []string{
		"-E -f 5 -6 -s wlc", "-e -f 5 -6 -r [2001:db8::5]:0 -m -w 7", "-d -f 5 -6 -r [2001:db8::5]:0",
		"-Z -f 3", "-D -f 3", "-L -n -f 5 -6", "-Z -u 10.0.0.2:53", "-L -t 10.0.0.1:80",
	} {
		mustRun(t, d, strings.Fields(l)...)
	}
	o, e, rc := run(t, d, "", "-D", "-f", "3")
	if o != "" || e != "No such service\n" || rc != 255 {
		t.Errorf("-D twice: %d %q %q", rc, o, e)
	}
	t.Run("netmask 0.0.0.0", func(t *testing.T) {
		mustRun(t, d, "-A", "-t", "10.0.0.9:80", "-p", "-M", "0.0.0.0")
		if got := mustRun(t, d, "-L", "-n", "-t", "10.0.0.9:80"); !strings.Contains(got, "TCP  10.0.0.9:80 wlc persistent 360 mask 0.0.0.0\n") {
			t.Errorf("-M 0.0.0.0 lists as:\n%s", got)
		}
	})
}
