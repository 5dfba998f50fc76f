package ipvsadm

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/ipvs"
)

// procAddrParse reads an address of /proc/net/ip_vs_conn: %08X or the
// full IPv6 form.
func procAddrParse(t *testing.T, s string) netip.Addr {
	if strings.Contains(s, ":") {
		return netip.MustParseAddr(s)
	}
	return parseHexAddr(t, s)
}

// TestOracleConnListings: testdata/oracle-conns holds a run with SIP
// persistence-engine data and IPv6 connections (one with an IPv4 tunnel
// real server), recorded with its guest-init.sh (the oracle's own setup
// plus a UDP sender). The connection table read from its
// /proc/net/ip_vs_conn must list as ipvsadm listed it.
func TestOracleConnListings(t *testing.T) {
	steps := readTranscript(t, filepath.Join("testdata", "oracle-conns", "sip-ipv6.out"))
	var conns []ipvs.ConnInfo
	for _, st := range steps {
		if len(st.args) == 2 && st.args[0] == "cat" {
			for i, l := range strings.Split(strings.TrimSuffix(st.stdout, "\n"), "\n") {
				if i == 0 {
					continue
				}
				f := strings.Fields(l)
				c := procAddrParse(t, f[1])
				af := ipvs.AFInet
				if c.Is6() {
					af = ipvs.AFInet6
				}
				exp, _ := strconv.Atoi(f[8])
				ci := ipvs.ConnInfo{
					Family: af, Protocol: map[string]uint8{"TCP": 6, "UDP": 17}[f[0]],
					Client:  netip.AddrPortFrom(c, parseHexPort(t, f[2])),
					Virtual: netip.AddrPortFrom(procAddrParse(t, f[3]), parseHexPort(t, f[4])),
					Dest:    netip.AddrPortFrom(procAddrParse(t, f[5]), parseHexPort(t, f[6])),
					State:   f[7], Expires: time.Duration(exp)*time.Second + 500*time.Millisecond,
				}
				if len(f) == 11 {
					ci.PEName, ci.PEData = f[9], f[10]
				}
				conns = append(conns, ci)
			}
			var b bytes.Buffer
			FormatProcConn(&b, conns)
			checkText(t, "proc", b.String(), st.stdout)
		}
	}
	if len(conns) != 6 {
		t.Fatalf("%d conns", len(conns))
	}
	checked := 0
	for _, st := range steps {
		if strings.Join(st.args, " ") == "ipvsadm -L -n -c" || strings.Join(st.args, " ") == "ipvsadm -L -n -c --persistent-conn" {
			fake := newFake()
			fake.conns = conns
			var o, e bytes.Buffer
			Run(fake, st.args[1:], nil, &o, &e, 0)
			checkText(t, strings.Join(st.args, " "), o.String()+e.String(), st.stdout+st.stderr)
			checked++
		}
	}
	if checked != 2 {
		t.Fatalf("checked %d listings", checked)
	}
}
