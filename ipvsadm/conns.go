package ipvsadm

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/golvs/golvs/ipvs"
)

// protoName is the kernel's ip_vs_proto_name, the first column of
// /proc/net/ip_vs_conn that ipvsadm -L -c reprints.
func protoName(p uint8) string {
	switch p {
	case ipvs.ProtoIP:
		return "IP"
	case ipvs.ProtoUDP:
		return "UDP"
	case ipvs.ProtoTCP:
		return "TCP"
	case ipvs.ProtoSCTP:
		return "SCTP"
	case 58:
		return "ICMPv6"
	}
	return fmt.Sprintf("IP_%d", p)
}

type connView struct {
	proto          string
	protoNum       uint8
	af, daf        uint16
	caddr, vaddr   [16]byte
	daddr          [16]byte
	cport, vport   uint16
	dport          uint16
	state          string
	expires        uint32
	peName, peData string
	hasPE          bool
	info           *ipvs.ConnInfo
}

func connAF(f ipvs.Family, a netip.Addr) uint16 {
	if f == ipvs.AFInet6 {
		return afInet6
	}
	if f == ipvs.AFInet {
		return afInet
	}
	return familyOf(0, a)
}

func viewConn(c *ipvs.ConnInfo) connView {
	af := connAF(c.Family, c.Client.Addr())
	daddr := c.Dest.Addr()
	daf := uint16(afInet6)
	if daddr.Is4() || (af == afInet && daddr.Is4In6()) || !daddr.IsValid() && af == afInet {
		daf = afInet
	}
	exp := c.Expires
	if exp < 0 {
		exp = 0
	}
	return connView{
		proto:    protoName(c.Protocol),
		protoNum: c.Protocol,
		af:       af,
		daf:      daf,
		caddr:    pack16(af, c.Client.Addr()),
		vaddr:    pack16(af, c.Virtual.Addr()),
		daddr:    pack16(daf, daddr),
		cport:    c.Client.Port(),
		vport:    c.Virtual.Port(),
		dport:    c.Dest.Port(),
		state:    c.State,
		expires:  uint32(exp / time.Second),
		peName:   c.PEName,
		peData:   c.PEData,
		hasPE:    c.PEData != "",
		info:     c,
	}
}

// FormatConns writes `ipvsadm -L -c` (list_conn and print_conn, which
// reprint /proc/net/ip_vs_conn): the entries in the order given. Ports
// print as numbers with or without numeric (see Config.PortNames). With
// persistentConnColumns (--persistent-conn) the title gains the "pe name"
// and "pe_data" columns and entries with persistence-engine data print them.
func FormatConns(w io.Writer, conns []ipvs.ConnInfo, persistentConnColumns bool, numeric bool) error {
	return formatConns(w, conns, persistentConnColumns, numeric, NoServices)
}

func formatConns(w io.Writer, conns []ipvs.ConnInfo, pc, numeric bool, db ServiceDB) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("IPVS connection entries\n")
	if pc {
		fmt.Fprintf(bw, "pro expire %-11s %-18s %-18s %-18s %-16s %s\n",
			"state", "source", "virtual", "destination", "pe name", "pe_data")
	} else {
		fmt.Fprintf(bw, "pro expire %-11s %-18s %-18s %s\n",
			"state", "source", "virtual", "destination")
	}
	for i := range conns {
		v := viewConn(&conns[i])
		// print_conn: ports are named for TCP, UDP and SCTP only.
		proto := uint8(0)
		switch v.proto {
		case "TCP", "UDP", "SCTP":
			proto = v.protoNum
		}
		cname := addrportToAnyname(v.af, v.caddr, v.cport, proto, numeric, db)
		vname := addrportToAnyname(v.af, v.vaddr, v.vport, proto, numeric, db)
		dname := addrportToAnyname(v.daf, v.daddr, v.dport, proto, numeric, db)
		exp := fmt.Sprintf("%02d:%02d", v.expires/60, v.expires%60)
		state := firstWord(v.state)
		if pc && v.hasPE && firstWord(v.peName) != "" && firstWord(v.peData) != "" {
			fmt.Fprintf(bw, "%s %s %s %s %s %s %s %s\n", padRight(v.proto, 3), padRight(exp, 6),
				padRight(state, 11), padRight(cname, 18), padRight(vname, 18), padRight(dname, 16),
				padRight(firstWord(v.peName), 18), firstWord(v.peData))
		} else {
			fmt.Fprintf(bw, "%s %s %s %s %s %s\n", padRight(v.proto, 3), padRight(exp, 6),
				padRight(state, 11), padRight(cname, 18), padRight(vname, 18), dname)
		}
	}
	return bw.Flush()
}

// firstWord is what sscanf's %s takes from a field.
func firstWord(s string) string {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	if i := strings.IndexAny(s, " \t\n\v\f\r"); i >= 0 {
		return s[:i]
	}
	return s
}

// pI6 is the kernel's %pI6: eight groups of four hex digits.
func pI6(a [16]byte) string {
	var b strings.Builder
	for i := 0; i < 16; i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02x%02x", a[i], a[i+1])
	}
	return b.String()
}

func procAddr(af uint16, a [16]byte) string {
	if af == afInet6 {
		return pI6(a)
	}
	return fmt.Sprintf("%08X", binary.BigEndian.Uint32(a[:4]))
}

// FormatProcConn writes /proc/net/ip_vs_conn (ip_vs_conn.c:
// ip_vs_conn_seq_show) for conns, in the order given.
func FormatProcConn(w io.Writer, conns []ipvs.ConnInfo) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n")
	for i := range conns {
		v := viewConn(&conns[i])
		pe := ""
		if v.hasPE {
			pe = " " + v.peName + " " + v.peData
		}
		fmt.Fprintf(bw, "%s %s %04X %s %04X %s %04X %s %7d%s\n", padRight(v.proto, 3),
			procAddr(v.af, v.caddr), v.cport, procAddr(v.af, v.vaddr), v.vport,
			procAddr(v.daf, v.daddr), v.dport, padRight(v.state, 11), v.expires, pe)
	}
	return bw.Flush()
}
