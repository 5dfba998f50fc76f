package ipvsadm

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"time"

	"github.com/golvs/golvs/ipvs"
)

// ListOptions selects an ipvsadm listing layout.
type ListOptions struct {
	// Numeric prints addresses and ports as numbers (-n). Without it ports
	// are named from PortNames; addresses are never resolved (golvs does
	// not use DNS), so they print as with -n.
	Numeric bool
	// Layouts; when several are set ipvsadm uses the first of Stats, Rate,
	// Thresholds, PersistentConn, TunInfo.
	Stats, Rate, Thresholds, PersistentConn, TunInfo bool
	// Exact prints --stats/--rate numbers in full (-X, --exact).
	Exact bool
	// NoSort keeps the order given (--nosort): the kernel's hash order
	// for services and list order (newest first) for real servers.
	NoSort bool
	// NoVersion omits the "IP Virtual Server version" line, as
	// `ipvsadm -L -t VIP:port` does.
	NoVersion bool
	// Size is the connection table size shown in the version line; 0
	// means 4096 (CONFIG_IP_VS_TAB_BITS=12).
	Size int
	// PortNames names ports when not Numeric; nil names none, so ports
	// print as numbers as on the reference oracle (its guest has no
	// /etc/services). BuiltinServices gives Debian's usual names.
	PortNames ServiceDB

	rule bool // -S: the save format
}

// Version is the IPVS version ipvsadm reports.
const Version = "1.2.1"

// VersionString is `ipvsadm -v`'s line (version()).
const VersionString = "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)"

func (o *ListOptions) db() ServiceDB {
	if o.PortNames == nil {
		return NoServices
	}
	return o.PortNames
}

// svcView is a service as libipvs's ipvs_service_entry_t holds it.
type svcView struct {
	af       uint16
	protocol uint8
	addr     [16]byte
	port     uint16
	fwmark   uint32
	sched    string
	flags    uint32
	timeout  uint32
	netmask  uint32
	pe       string
	stats    ipvs.StatsInfo
	dests    []destView
	info     *ipvs.ServiceInfo
}

type destView struct {
	af        uint16
	addr      [16]byte
	port      uint16
	connFlags uint32
	weight    int32
	uThresh   uint32
	lThresh   uint32
	active    uint32
	inactive  uint32
	persist   uint32
	tunType   uint8
	tunPort   uint16
	tunFlags  uint16
	stats     ipvs.StatsInfo
	info      *ipvs.DestInfo
}

func familyOf(f ipvs.Family, a netip.Addr) uint16 {
	if f != 0 {
		return uint16(f)
	}
	if a.IsValid() && !a.Is4() && !a.Is4In6() {
		return afInet6
	}
	return afInet
}

func pack16(af uint16, a netip.Addr) [16]byte {
	var r [16]byte
	if !a.IsValid() {
		return r
	}
	if af == afInet6 {
		return a.As16()
	}
	v := a.Unmap()
	if v.Is4() {
		b := v.As4()
		copy(r[:4], b[:])
		return r
	}
	return a.As16()
}

func viewService(s *ipvs.ServiceInfo) svcView {
	af := familyOf(s.Family, s.Addr)
	v := svcView{
		af:       af,
		protocol: s.Protocol,
		addr:     pack16(af, s.Addr),
		port:     s.Port,
		fwmark:   s.FWMark,
		sched:    s.Scheduler,
		flags:    uint32(s.Flags),
		timeout:  s.Timeout,
		netmask:  s.Netmask,
		pe:       s.PE,
		stats:    s.Stats,
		info:     s,
	}
	if v.netmask == 0 && !s.NetmaskSet {
		if af == afInet6 {
			v.netmask = 128
		} else {
			v.netmask = 0xffffffff
		}
	}
	for i := range s.Dests {
		d := &s.Dests[i]
		daf := familyOf(d.Family, d.Addr)
		st := d.Stats
		// libipvs 1.31 (ipvs_dests_parse_cb) parses the dest's 64-bit
		// statistics with the 32-bit parser: counters and rates keep
		// their low 32 bits, byte counters are complete.
		st.Conns, st.InPkts, st.OutPkts = uint64(uint32(st.Conns)), uint64(uint32(st.InPkts)), uint64(uint32(st.OutPkts))
		st.CPS, st.InPPS, st.OutPPS = uint64(uint32(st.CPS)), uint64(uint32(st.InPPS)), uint64(uint32(st.OutPPS))
		st.InBPS, st.OutBPS = uint64(uint32(st.InBPS)), uint64(uint32(st.OutBPS))
		v.dests = append(v.dests, destView{
			af:        daf,
			addr:      pack16(daf, d.Addr),
			port:      d.Port,
			connFlags: uint32(d.Method),
			weight:    d.Weight,
			uThresh:   d.UThreshold,
			lThresh:   d.LThreshold,
			active:    d.ActiveConns,
			inactive:  d.InactConns,
			persist:   d.PersistConns,
			tunType:   d.TunType,
			tunPort:   d.TunPort,
			tunFlags:  d.TunFlags,
			stats:     st,
			info:      d,
		})
	}
	return v
}

// sortedViews returns the services (and their real servers) in ipvsadm's
// order.
func sortedViews(svcs []ipvs.ServiceInfo, noSort bool) []svcView {
	views := make([]svcView, len(svcs))
	for i := range svcs {
		views[i] = viewService(&svcs[i])
	}
	if !noSort {
		msort(views, cmpServices)
		for i := range views {
			msort(views[i].dests, cmpDests)
		}
	}
	return views
}

// SortServices returns a copy of svcs in the order ipvsadm lists them
// (section 7.2 of the spec: glibc's merge sort with libipvs's signed
// differences), real servers sorted too.
func SortServices(svcs []ipvs.ServiceInfo) []ipvs.ServiceInfo {
	views := sortedViews(svcs, false)
	out := make([]ipvs.ServiceInfo, len(views))
	for i, v := range views {
		out[i] = *v.info
		out[i].Dests = make([]ipvs.DestInfo, len(v.dests))
		for j, d := range v.dests {
			out[i].Dests[j] = *d.info
		}
	}
	return out
}

// --- C printf helpers (padding counts bytes, as C does) ---

func padRight(s string, n int) string {
	for len(s) < n {
		s += " "
	}
	return s
}

func padLeft(s string, n int) string {
	for len(s) < n {
		s = " " + s
	}
	return s
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// nullStr is glibc's printf of a NULL string.
const nullStr = "(null)"

func protoForNames(p uint8) uint8 {
	switch p {
	case ipvs.ProtoTCP, ipvs.ProtoUDP, ipvs.ProtoSCTP:
		return p
	}
	return 0
}

func addrString(af uint16, a [16]byte) string {
	if af == afInet {
		return inetNtop4(binary.BigEndian.Uint32(a[:4]))
	}
	return inetNtop6(a)
}

// addrportToAnyname transcribes ipvsadm.c: addrport_to_anyname (a 60-byte
// buffer). Host names are never looked up.
func addrportToAnyname(af uint16, a [16]byte, port uint16, proto uint8, numeric bool, db ServiceDB) string {
	open, close := "[", "]"
	if af == afInet {
		open, close = "", ""
	}
	ps := strconv.Itoa(int(port))
	if !numeric {
		if p := protoForNames(proto); p != 0 {
			if n, ok := db.Name(port, p); ok {
				ps = n
			}
		}
	}
	return cut(open+addrString(af, a)+close+":"+ps, 59)
}

// printLargenum transcribes ipvsadm.c: print_largenum.
func printLargenum(w *bufio.Writer, i uint64, exact bool) {
	if exact {
		s := strconv.FormatUint(i, 10)
		width := len(s) + 1
		if len(s) <= 8 {
			width = 9
		}
		w.WriteString(padLeft(s, width))
		return
	}
	switch {
	case i < 100000000:
		w.WriteString(padLeft(strconv.FormatUint(i, 10), 9))
	case i < 1000000000:
		w.WriteString(padLeft(strconv.FormatUint(i/1000, 10), 8) + "K")
	case i < 100000000000:
		w.WriteString(padLeft(strconv.FormatUint(i/1000000, 10), 8) + "M")
	case i < 100000000000000:
		w.WriteString(padLeft(strconv.FormatUint(i/1000000000, 10), 8) + "G")
	default:
		w.WriteString(padLeft(strconv.FormatUint(i/1000000000000, 10), 8) + "T")
	}
}

// schedFlagsString transcribes ipvsadm.c: print_sched_flags.
func schedFlagsString(sched string, flags uint32) string {
	var s string
	switch sched {
	case "sh":
		if flags&uint32(ipvs.SvcSched1) != 0 {
			s += "sh-fallback,"
		}
		if flags&uint32(ipvs.SvcSched2) != 0 {
			s += "sh-port,"
		}
	case "mh":
		if flags&uint32(ipvs.SvcSched1) != 0 {
			s += "mh-fallback,"
		}
		if flags&uint32(ipvs.SvcSched2) != 0 {
			s += "mh-port,"
		}
	default:
		if flags&uint32(ipvs.SvcSched1) != 0 {
			s += "flag-1,"
		}
		if flags&uint32(ipvs.SvcSched2) != 0 {
			s += "flag-2,"
		}
		if flags&uint32(ipvs.SvcSched3) != 0 {
			s += "flag-3,"
		}
	}
	if s != "" {
		s = s[:len(s)-1]
	}
	return s
}

// printTitle transcribes ipvsadm.c: print_title.
func printTitle(w *bufio.Writer, o *ListOptions) {
	switch {
	case o.rule:
	case o.Stats:
		fmt.Fprintf(w, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes")
	case o.Rate:
		fmt.Fprintf(w, "%-33s %8s %8s %8s %8s %8s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS")
	case o.Thresholds:
		fmt.Fprintf(w, "%-33s %-10s %-10s %-10s %-10s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn")
	case o.PersistentConn:
		fmt.Fprintf(w, "%-33s %-9s %-11s %-10s %-10s\n  -> RemoteAddress:Port\n",
			"Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn", "InActConn")
	case o.TunInfo:
		w.WriteString("Prot LocalAddress:Port Scheduler Flags\n" +
			"  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n")
	default:
		w.WriteString("Prot LocalAddress:Port Scheduler Flags\n" +
			"  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n")
	}
}

func fwdName(flags uint32) string {
	switch ipvs.FwdMethod(flags & 7) {
	case ipvs.FwdMasq:
		return "Masq"
	case ipvs.FwdLocalNode:
		return "Local"
	case ipvs.FwdTunnel:
		return "Tunnel"
	case ipvs.FwdRoute:
		return "Route"
	}
	return nullStr
}

func fwdSwitch(flags uint32) string {
	switch ipvs.FwdMethod(flags & 7) {
	case ipvs.FwdMasq:
		return "-m"
	case ipvs.FwdTunnel:
		return "-i"
	case ipvs.FwdLocalNode, ipvs.FwdRoute:
		return "-g"
	}
	return nullStr
}

var tunFlagNames = [3]string{"-c", "+c", "r+c"}
var tunFlagOpts = [3]string{"--tun-nocsum", "--tun-csum", "--tun-remcsum"}

func tunFlagName(f uint16) string {
	if int(f) < len(tunFlagNames) {
		return tunFlagNames[f]
	}
	return nullStr
}

func tunFlagOpt(f uint16) string {
	if int(f) < len(tunFlagOpts) {
		return tunFlagOpts[f]
	}
	return nullStr
}

// fwdTunInfo transcribes ipvsadm.c: fwd_tun_info ("" for none: n/a).
func fwdTunInfo(d *destView) string {
	if ipvs.FwdMethod(d.connFlags&7) != ipvs.FwdTunnel {
		return ""
	}
	switch d.tunType {
	case ipvs.TunIPIP:
		return "ipip"
	case ipvs.TunGUE:
		return cut(fmt.Sprintf("gue:%d:%s", d.tunPort, tunFlagName(d.tunFlags)), 15)
	case ipvs.TunGRE:
		return cut(fmt.Sprintf("gre:%s", tunFlagName(d.tunFlags)), 15)
	}
	return ""
}

// serviceName builds ipvsadm.c: print_service_entry's svc_name.
func serviceName(se *svcView, o *ListOptions) string {
	if se.fwmark != 0 {
		m := int32(se.fwmark)
		switch {
		case o.rule && se.af == afInet6:
			return fmt.Sprintf("-f %d -6", m)
		case o.rule:
			return fmt.Sprintf("-f %d", m)
		case se.af == afInet6:
			return fmt.Sprintf("FWM  %d IPv6", m)
		default:
			return fmt.Sprintf("FWM  %d", m)
		}
	}
	vname := addrportToAnyname(se.af, se.addr, se.port, se.protocol, o.Numeric, o.db())
	if o.rule {
		stype := "--xxx-service"
		switch se.protocol {
		case ipvs.ProtoTCP:
			stype = "-t"
		case ipvs.ProtoUDP:
			stype = "-u"
		case ipvs.ProtoSCTP:
			stype = "--sctp-service"
		}
		return stype + " " + vname
	}
	stype := "?"
	switch se.protocol {
	case ipvs.ProtoTCP:
		stype = "TCP"
	case ipvs.ProtoUDP:
		stype = "UDP"
	case ipvs.ProtoSCTP:
		stype = "SCTP"
	}
	name := padRight(stype, 4) + " " + vname
	if se.af != afInet6 {
		name = cut(name, 33)
	}
	return name
}

// printServiceEntry transcribes ipvsadm.c: print_service_entry.
func printServiceEntry(w *bufio.Writer, se *svcView, o *ListOptions) {
	svcName := serviceName(se, o)
	schedFlags := se.flags & uint32(ipvs.SvcSchedMask)
	persistent := se.flags&uint32(ipvs.SvcPersistent) != 0
	ops := se.flags&uint32(ipvs.SvcOnePacket) != 0
	switch {
	case o.rule:
		fmt.Fprintf(w, "-A %s -s %s", svcName, se.sched)
		if persistent {
			fmt.Fprintf(w, " -p %d", se.timeout)
			if se.af == afInet && se.netmask != 0xffffffff {
				fmt.Fprintf(w, " -M %s", inetNtop4(se.netmask))
			}
			if se.af == afInet6 && se.netmask != 128 {
				fmt.Fprintf(w, " -M %d", int32(se.netmask))
			}
		}
		if se.pe != "" {
			fmt.Fprintf(w, " --pe %s", se.pe)
		}
		if ops {
			w.WriteString(" -o")
		}
		if schedFlags != 0 {
			w.WriteString(" -b " + schedFlagsString(se.sched, se.flags))
		}
	case o.Stats:
		w.WriteString(padRight(svcName, 33))
		for _, v := range []uint64{se.stats.Conns, se.stats.InPkts, se.stats.OutPkts, se.stats.InBytes, se.stats.OutBytes} {
			printLargenum(w, v, o.Exact)
		}
	case o.Rate:
		w.WriteString(padRight(svcName, 33))
		for _, v := range []uint64{se.stats.CPS, se.stats.InPPS, se.stats.OutPPS, se.stats.InBPS, se.stats.OutBPS} {
			printLargenum(w, v, o.Exact)
		}
	default:
		fmt.Fprintf(w, "%s %s", svcName, se.sched)
		if schedFlags != 0 {
			w.WriteString(" (" + schedFlagsString(se.sched, se.flags) + ")")
		}
		if persistent {
			fmt.Fprintf(w, " persistent %d", se.timeout)
			if se.af == afInet && se.netmask != 0xffffffff {
				fmt.Fprintf(w, " mask %s", inetNtop4(se.netmask))
			}
			if se.af == afInet6 && se.netmask != 128 {
				fmt.Fprintf(w, " mask %d", int32(se.netmask))
			}
			if se.pe != "" {
				fmt.Fprintf(w, " pe %s", se.pe)
			}
		}
		if ops {
			w.WriteString(" ops")
		}
	}
	w.WriteString("\n")

	for i := range se.dests {
		e := &se.dests[i]
		dname := addrportToAnyname(e.af, e.addr, e.port, se.protocol, o.Numeric, o.db())
		if !o.rule && e.af != afInet6 {
			dname = cut(dname, 28)
		}
		switch {
		case o.rule:
			if ipvs.FwdMethod(e.connFlags&7) == ipvs.FwdTunnel {
				printTunnelRule(w, svcName, dname, e)
			} else {
				fmt.Fprintf(w, "-a %s -r %s %s -w %d\n", svcName, dname, fwdSwitch(e.connFlags), e.weight)
			}
		case o.Stats:
			w.WriteString("  -> " + padRight(dname, 28))
			for _, v := range []uint64{e.stats.Conns, e.stats.InPkts, e.stats.OutPkts, e.stats.InBytes, e.stats.OutBytes} {
				printLargenum(w, v, o.Exact)
			}
			w.WriteString("\n")
		case o.Rate:
			fmt.Fprintf(w, "  -> %s %8d %8d %8d", padRight(dname, 28), e.stats.CPS, e.stats.InPPS, e.stats.OutPPS)
			printLargenum(w, e.stats.InBPS, o.Exact)
			printLargenum(w, e.stats.OutBPS, o.Exact)
			w.WriteString("\n")
		case o.Thresholds:
			fmt.Fprintf(w, "  -> %s %-10d %-10d %-10d %-10d\n", padRight(dname, 28), e.uThresh, e.lThresh, e.active, e.inactive)
		case o.PersistentConn:
			fmt.Fprintf(w, "  -> %s %-9d %-11d %-10d %-10d\n", padRight(dname, 28), uint32(e.weight), e.persist, e.active, e.inactive)
		case o.TunInfo:
			ti := fwdTunInfo(e)
			if ti == "" {
				ti = "n/a"
			}
			fmt.Fprintf(w, "  -> %s %s %s %-6d %-10d %-10d\n", padRight(dname, 28), padRight(fwdName(e.connFlags), 7), padRight(ti, 13), e.weight, e.active, e.inactive)
		default:
			fmt.Fprintf(w, "  -> %s %s %-6d %-10d %-10d\n", padRight(dname, 28), padRight(fwdName(e.connFlags), 7), e.weight, e.active, e.inactive)
		}
	}
}

// printTunnelRule transcribes ipvsadm.c: print_tunnel_rule.
func printTunnelRule(w *bufio.Writer, svcName, dname string, e *destView) {
	sw := fwdSwitch(e.connFlags)
	switch e.tunType {
	case ipvs.TunGRE:
		fmt.Fprintf(w, "-a %s -r %s %s -w %d --tun-type gre %s\n", svcName, dname, sw, e.weight, tunFlagOpt(e.tunFlags))
	case ipvs.TunGUE:
		fmt.Fprintf(w, "-a %s -r %s %s -w %d --tun-type gue --tun-port %d %s\n", svcName, dname, sw, e.weight, e.tunPort, tunFlagOpt(e.tunFlags))
	case ipvs.TunIPIP:
		fmt.Fprintf(w, "-a %s -r %s %s -w %d --tun-type ipip\n", svcName, dname, sw, e.weight)
	default:
		fmt.Fprintf(w, "-a %s -r %s %s -w %d\n", svcName, dname, sw, e.weight)
	}
}

// FormatList writes an `ipvsadm -L` listing of svcs (in any order; they
// are sorted as ipvsadm sorts them unless opt.NoSort) in the layout opt
// selects: ipvsadm.c: list_all, or list_service with opt.NoVersion.
func FormatList(w io.Writer, svcs []ipvs.ServiceInfo, opt ListOptions) error {
	bw := bufio.NewWriter(w)
	if !opt.NoVersion && !opt.rule {
		size := opt.Size
		if size == 0 {
			size = 4096
		}
		fmt.Fprintf(bw, "IP Virtual Server version %s (size=%d)\n", Version, size)
	}
	views := sortedViews(svcs, opt.NoSort)
	printTitle(bw, &opt)
	for i := range views {
		printServiceEntry(bw, &views[i], &opt)
	}
	return bw.Flush()
}

// FormatSave writes `ipvsadm -S` (with numeric, `ipvsadm -S -n`): the
// rules in the format -R reads.
func FormatSave(w io.Writer, svcs []ipvs.ServiceInfo, numeric bool) error {
	return FormatList(w, svcs, ListOptions{Numeric: numeric, rule: true})
}

// FormatTimeouts writes `ipvsadm -L --timeout` (list_timeout).
func FormatTimeouts(w io.Writer, t ipvs.Timeouts) error {
	_, err := fmt.Fprintf(w, "Timeout (tcp tcpfin udp): %d %d %d\n",
		int64(t.TCP/time.Second), int64(t.TCPFin/time.Second), int64(t.UDP/time.Second))
	return err
}

// FormatDaemons writes `ipvsadm -L --daemon` (list_daemon): master first.
func FormatDaemons(w io.Writer, ds []DaemonConfig) error {
	bw := bufio.NewWriter(w)
	for _, st := range []DaemonState{DaemonMaster, DaemonBackup} {
		for _, d := range ds {
			if d.State != st {
				continue
			}
			fmt.Fprintf(bw, "%s sync daemon (mcast=%s, syncid=%d", st, d.McastIfn, d.SyncID)
			if d.SyncMaxLen != 0 {
				fmt.Fprintf(bw, ", maxlen=%d", d.SyncMaxLen)
			}
			if d.McastGroup.IsValid() {
				g := d.McastGroup.Unmap()
				if g.Is4() {
					bw.WriteString(", group=" + g.String())
				} else {
					bw.WriteString(", group=" + inetNtop6(g.As16()))
				}
			}
			if d.McastPort != 0 {
				fmt.Fprintf(bw, ", port=%d", d.McastPort)
			}
			if d.McastTTL != 0 {
				fmt.Fprintf(bw, ", ttl=%d", d.McastTTL)
			}
			bw.WriteString(")\n")
		}
	}
	return bw.Flush()
}
