package ipvsadm

// JSON output is a golvs-only extension: `ipvsadm -L ... -o json` or
// `--output json` prints the listing the other options select as one JSON
// document. Services are in ipvsadm's order (or as given with --nosort);
// addresses are always numeric.

import (
	"encoding/json"
	"io"
	"time"

	"github.com/golvs/golvs/ipvs"
)

// JSONStats are a service's or real server's counters and rates.
type JSONStats struct {
	Conns    uint64 `json:"conns"`
	InPkts   uint64 `json:"inpkts"`
	OutPkts  uint64 `json:"outpkts"`
	InBytes  uint64 `json:"inbytes"`
	OutBytes uint64 `json:"outbytes"`
	CPS      uint64 `json:"cps"`
	InPPS    uint64 `json:"inpps"`
	OutPPS   uint64 `json:"outpps"`
	InBPS    uint64 `json:"inbps"`
	OutBPS   uint64 `json:"outbps"`
}

// JSONTunnel describes a tunnel real server's encapsulation.
type JSONTunnel struct {
	Type  string `json:"type"`            // ipip, gue, gre
	Port  uint16 `json:"port,omitempty"`  // gue
	Flags string `json:"flags,omitempty"` // nocsum, csum, remcsum (gue, gre)
}

// JSONDest is a real server.
type JSONDest struct {
	Address      string      `json:"address"`
	Port         uint16      `json:"port"`
	Family       string      `json:"family"`
	Forward      string      `json:"forward"`
	Weight       int32       `json:"weight"`
	UThreshold   uint32      `json:"u_threshold"`
	LThreshold   uint32      `json:"l_threshold"`
	ActiveConns  uint32      `json:"active_conns"`
	InactConns   uint32      `json:"inact_conns"`
	PersistConns uint32      `json:"persist_conns"`
	Overloaded   bool        `json:"overloaded"`
	Tunnel       *JSONTunnel `json:"tunnel,omitempty"`
	Stats        JSONStats   `json:"stats"`
}

// JSONService is a virtual service.
type JSONService struct {
	Protocol   string     `json:"protocol"` // TCP, UDP, SCTP, FWM
	Family     string     `json:"family"`   // inet, inet6
	Address    string     `json:"address,omitempty"`
	Port       uint16     `json:"port"`
	FWMark     uint32     `json:"fwmark,omitempty"`
	Scheduler  string     `json:"scheduler"`
	SchedFlags []string   `json:"sched_flags"`
	Persistent bool       `json:"persistent"`
	Timeout    uint32     `json:"timeout,omitempty"`
	Netmask    string     `json:"netmask,omitempty"` // dotted (inet) or prefix length (inet6), when persistent
	PE         string     `json:"pe,omitempty"`
	OnePacket  bool       `json:"ops"`
	Stats      JSONStats  `json:"stats"`
	Dests      []JSONDest `json:"dests"`
}

// JSONList is the document of `-L -o json`.
type JSONList struct {
	Version  string        `json:"version"`
	Size     int           `json:"size"`
	Services []JSONService `json:"services"`
}

// JSONConn is a connection-table entry.
type JSONConn struct {
	Protocol    string `json:"protocol"`
	Client      string `json:"client"`
	Virtual     string `json:"virtual"`
	Destination string `json:"destination"`
	State       string `json:"state"`
	Expires     uint32 `json:"expires"` // seconds
	Template    bool   `json:"template"`
	PEName      string `json:"pe_name,omitempty"`
	PEData      string `json:"pe_data,omitempty"`
}

// JSONConns is the document of `-L -c -o json`.
type JSONConns struct {
	Connections []JSONConn `json:"connections"`
}

// JSONTimeouts is the document of `-L --timeout -o json` (seconds).
type JSONTimeouts struct {
	TCP    int64 `json:"tcp"`
	TCPFin int64 `json:"tcpfin"`
	UDP    int64 `json:"udp"`
}

// JSONDaemon is a sync daemon.
type JSONDaemon struct {
	State      string `json:"state"`
	McastIfn   string `json:"mcast_interface"`
	SyncID     uint32 `json:"syncid"`
	SyncMaxLen uint16 `json:"sync_maxlen,omitempty"`
	McastGroup string `json:"mcast_group,omitempty"`
	McastPort  uint16 `json:"mcast_port,omitempty"`
	McastTTL   uint8  `json:"mcast_ttl,omitempty"`
}

// JSONDaemons is the document of `-L --daemon -o json`.
type JSONDaemons struct {
	Daemons []JSONDaemon `json:"daemons"`
}

func jsonStats(s ipvs.StatsInfo) JSONStats {
	return JSONStats{s.Conns, s.InPkts, s.OutPkts, s.InBytes, s.OutBytes, s.CPS, s.InPPS, s.OutPPS, s.InBPS, s.OutBPS}
}

func famName(af uint16) string {
	if af == afInet6 {
		return "inet6"
	}
	return "inet"
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// ListJSON builds the JSON document of a service listing.
func ListJSON(svcs []ipvs.ServiceInfo, opt ListOptions) JSONList {
	size := opt.Size
	if size == 0 {
		size = 4096
	}
	doc := JSONList{Version: Version, Size: size, Services: []JSONService{}}
	for _, v := range sortedViews(svcs, opt.NoSort) {
		js := JSONService{
			Family:     famName(v.af),
			Port:       v.port,
			FWMark:     v.fwmark,
			Scheduler:  v.sched,
			SchedFlags: []string{},
			Persistent: v.flags&uint32(ipvs.SvcPersistent) != 0,
			PE:         v.pe,
			OnePacket:  v.flags&uint32(ipvs.SvcOnePacket) != 0,
			Stats:      jsonStats(v.stats),
			Dests:      []JSONDest{},
		}
		if f := schedFlagsString(v.sched, v.flags); f != "" {
			js.SchedFlags = splitComma(f)
		}
		if v.fwmark != 0 {
			js.Protocol = "FWM"
		} else {
			js.Protocol = protoName(v.protocol)
			js.Address = addrString(v.af, v.addr)
		}
		if js.Persistent {
			js.Timeout = v.timeout
			if v.af == afInet6 {
				js.Netmask = itoa(int(int32(v.netmask)))
			} else {
				js.Netmask = inetNtop4(v.netmask)
			}
		}
		for _, d := range v.dests {
			jd := JSONDest{
				Address:      addrString(d.af, d.addr),
				Port:         d.port,
				Family:       famName(d.af),
				Forward:      fwdName(d.connFlags),
				Weight:       d.weight,
				UThreshold:   d.uThresh,
				LThreshold:   d.lThresh,
				ActiveConns:  d.active,
				InactConns:   d.inactive,
				PersistConns: d.persist,
				Overloaded:   d.info.Overloaded,
				Stats:        jsonStats(d.info.Stats),
			}
			if ipvs.FwdMethod(d.connFlags&7) == ipvs.FwdTunnel {
				t := &JSONTunnel{}
				switch d.tunType {
				case ipvs.TunIPIP:
					t.Type = "ipip"
				case ipvs.TunGUE:
					t.Type, t.Port = "gue", d.tunPort
				case ipvs.TunGRE:
					t.Type = "gre"
				default:
					t.Type = itoa(int(d.tunType))
				}
				if d.tunType == ipvs.TunGUE || d.tunType == ipvs.TunGRE {
					t.Flags = [...]string{"nocsum", "csum", "remcsum"}[min(int(d.tunFlags), 2)]
				}
				jd.Tunnel = t
			}
			js.Dests = append(js.Dests, jd)
		}
		doc.Services = append(doc.Services, js)
	}
	return doc
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// FormatListJSON writes a service listing as JSON (golvs-only).
func FormatListJSON(w io.Writer, svcs []ipvs.ServiceInfo, opt ListOptions) error {
	return writeJSON(w, ListJSON(svcs, opt))
}

// FormatConnsJSON writes the connection table as JSON, in the order given
// (golvs-only).
func FormatConnsJSON(w io.Writer, conns []ipvs.ConnInfo) error {
	doc := JSONConns{Connections: []JSONConn{}}
	for i := range conns {
		v := viewConn(&conns[i])
		doc.Connections = append(doc.Connections, JSONConn{
			Protocol:    v.proto,
			Client:      addrportToAnyname(v.af, v.caddr, v.cport, 0, true, nil),
			Virtual:     addrportToAnyname(v.af, v.vaddr, v.vport, 0, true, nil),
			Destination: addrportToAnyname(v.daf, v.daddr, v.dport, 0, true, nil),
			State:       v.state,
			Expires:     v.expires,
			Template:    conns[i].Template,
			PEName:      v.peName,
			PEData:      v.peData,
		})
	}
	return writeJSON(w, doc)
}

// FormatTimeoutsJSON writes the timeouts as JSON (golvs-only).
func FormatTimeoutsJSON(w io.Writer, t ipvs.Timeouts) error {
	return writeJSON(w, JSONTimeouts{int64(t.TCP / time.Second), int64(t.TCPFin / time.Second), int64(t.UDP / time.Second)})
}

// FormatDaemonsJSON writes the sync daemons as JSON (golvs-only).
func FormatDaemonsJSON(w io.Writer, ds []DaemonConfig) error {
	doc := JSONDaemons{Daemons: []JSONDaemon{}}
	for _, st := range []DaemonState{DaemonMaster, DaemonBackup} {
		for _, d := range ds {
			if d.State != st {
				continue
			}
			jd := JSONDaemon{State: st.String(), McastIfn: d.McastIfn, SyncID: d.SyncID,
				SyncMaxLen: d.SyncMaxLen, McastPort: d.McastPort, McastTTL: d.McastTTL}
			if d.McastGroup.IsValid() {
				jd.McastGroup = d.McastGroup.String()
			}
			doc.Daemons = append(doc.Daemons, jd)
		}
	}
	return writeJSON(w, doc)
}
