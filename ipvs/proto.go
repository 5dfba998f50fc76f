package ipvs

import (
	"strings"
	"time"
)

// TCP states (IP_VS_TCP_S_*), in the kernel's numbering.
const (
	TCPNone uint8 = iota
	TCPEstablished
	TCPSynSent
	TCPSynRecv
	TCPFinWait
	TCPTimeWait
	TCPClose
	TCPCloseWait
	TCPLastAck
	TCPListen
	TCPSynAck
	tcpStates
)

var tcpNames = [tcpStates]string{"NONE", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT",
	"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "SYNACK"}

func tcpStateName(s uint8) string {
	if int(s) < len(tcpNames) {
		return tcpNames[s]
	}
	return "ERR!"
}

// tcpActive mirrors ip_vs_proto_tcp.c: tcp_state_active.
func tcpActive(s uint8) bool {
	return s == TCPEstablished || s == TCPSynSent || s == TCPSynRecv || s == TCPSynAck
}

// Default timeouts (ip_vs_proto_tcp.c: tcp_timeouts; ip_vs_proto_udp.c:
// udp_timeouts; ip_vs_proto_sctp.c: sctp_timeouts).
var defaultTCPTimeouts = [tcpStates]time.Duration{
	TCPNone: 2 * time.Second, TCPEstablished: 15 * time.Minute, TCPSynSent: 2 * time.Minute,
	TCPSynRecv: time.Minute, TCPFinWait: 2 * time.Minute, TCPTimeWait: 2 * time.Minute,
	TCPClose: 10 * time.Second, TCPCloseWait: time.Minute, TCPLastAck: 30 * time.Second,
	TCPListen: 2 * time.Minute, TCPSynAck: 2 * time.Minute,
}

const defaultUDPTimeout = 5 * time.Minute

// newConnTimeout is the timeout of an entry before its first state
// transition (ip_vs_conn.c: ip_vs_conn_new, "cp->timeout = 3*HZ").
const newConnTimeout = 3 * time.Second

// expireLater is the re-arm of an entry that still controls others when its
// timer fires (ip_vs_conn.c: ip_vs_conn_expire, "cp->timeout = 60*HZ").
const expireLater = 60 * time.Second

// Directions for the state tables: INPUT, OUTPUT, INPUT_ONLY.
const (
	tblInput = iota
	tblOutput
	tblInputOnly
)

// tcpTable[secure][dir][event][state] = next state; events syn, fin, ack,
// rst (ip_vs_proto_tcp.c: tcp_states, tcp_states_dos).
var tcpTable [2][3][4][tcpStates]uint8

const tcpNormal = `
sR es es sR sR sR sR sR sR sR sR
cL cW sS tW tW tW cL cW lA lI tW
eS es sS eS fW tW cL cW cL lI eS
cL cL cL sR cL cL cL cL lA lI sR
sS es sS sR sS sS sS sS sS lI sR
tW fW sS tW fW tW cL tW lA lI tW
eS es sS eS fW tW cL cW lA eS eS
cL cL sS cL cL tW cL cL cL cL cL
sR es es sR sR sR sR sR sR sR sR
cL fW sS tW fW tW cL cW lA lI tW
eS es sS eS fW tW cL cW cL lI eS
cL cL cL sR cL cL cL cL lA lI cL`

const tcpSecure = `
sR es es sR sR sR sR sR sR sR sA
cL cW sS tW tW tW cL cW lA lI sA
eS es sS sR fW tW cL cW cL lI sA
cL cL cL sR cL cL cL cL lA lI cL
sS es sS sA sS sS sS sS sS lI sA
tW fW sS tW fW tW cL tW lA lI tW
eS es sS eS fW tW cL cW lA eS eS
cL cL sS cL cL tW cL cL cL cL cL
sA es es sR sA sA sA sA sA sA sA
cL fW sS tW fW tW cL cW lA lI tW
eS es sS eS fW tW cL cW cL lI eS
cL cL cL sR cL cL cL cL lA lI cL`

var tcpAbbrev = map[string]uint8{"no": TCPNone, "es": TCPEstablished, "ss": TCPSynSent, "sr": TCPSynRecv,
	"fw": TCPFinWait, "tw": TCPTimeWait, "cl": TCPClose, "cw": TCPCloseWait, "la": TCPLastAck,
	"li": TCPListen, "sa": TCPSynAck}

func init() {
	for sec, src := range []string{tcpNormal, tcpSecure} {
		rows := strings.Split(strings.TrimSpace(src), "\n")
		for r, row := range rows {
			for st, cell := range strings.Fields(row) {
				tcpTable[sec][r/4][r%4][st] = tcpAbbrev[strings.ToLower(cell)]
			}
		}
	}
	for r, row := range strings.Split(strings.TrimSpace(sctpTableSrc), "\n") {
		for st, cell := range strings.Fields(row) {
			sctpTable[r/sctpEvents][r%sctpEvents][st] = sctpAbbrev[cell]
		}
	}
}

// tcpEvent mirrors ip_vs_proto_tcp.c: tcp_state_idx (-1: no flag).
func tcpEvent(flags uint8) int {
	switch {
	case flags&TCPRst != 0:
		return 3
	case flags&TCPSyn != 0:
		return 0
	case flags&TCPFin != 0:
		return 1
	case flags&TCPAck != 0:
		return 2
	}
	return -1
}

// SCTP states (IP_VS_SCTP_S_*).
const (
	SCTPSNone uint8 = iota
	SCTPSInit1
	SCTPSInit
	SCTPSCookieSent
	SCTPSCookieReplied
	SCTPSCookieWait
	SCTPSCookie
	SCTPSCookieEchoed
	SCTPSEstablished
	SCTPSShutdownSent
	SCTPSShutdownReceived
	SCTPSShutdownAckSent
	SCTPSRejected
	SCTPSClosed
	sctpStates
)

var sctpNames = [sctpStates]string{"NONE", "INIT1", "INIT", "C-SENT", "C-REPLIED", "C-WAIT", "COOKIE",
	"C-ECHOED", "ESTABLISHED", "S-SENT", "S-RECEIVED", "S-ACK-SENT", "REJECTED", "CLOSED"}

func sctpStateName(s uint8) string {
	if int(s) < len(sctpNames) {
		return sctpNames[s]
	}
	return "ERR!"
}

var defaultSCTPTimeouts = [sctpStates]time.Duration{
	2 * time.Second, 4 * time.Second, 61 * time.Second, 61 * time.Second, 61 * time.Second, 61 * time.Second,
	61 * time.Second, 61 * time.Second, 15 * time.Minute, 61 * time.Second, 61 * time.Second, 61 * time.Second,
	4 * time.Second, 61 * time.Second,
}

const sctpEvents = 10

// sctpTable[dir][event][state]; events d, i, i_a, c_e, c_a, s, s_a, s_c,
// err, ab (ip_vs_proto_sctp.c: sctp_states).
var sctpTable [3][sctpEvents][sctpStates]uint8

var sctpAbbrev = map[string]uint8{"NO": SCTPSNone, "I1": SCTPSInit1, "IN": SCTPSInit, "CS": SCTPSCookieSent,
	"CR": SCTPSCookieReplied, "CW": SCTPSCookieWait, "CO": SCTPSCookie, "CE": SCTPSCookieEchoed,
	"ES": SCTPSEstablished, "SS": SCTPSShutdownSent, "SR": SCTPSShutdownReceived, "SA": SCTPSShutdownAckSent,
	"RJ": SCTPSRejected, "CL": SCTPSClosed}

const sctpTableSrc = `
ES  I1  IN  CS  CR  CW  CO  CE  ES  SS  SR  SA  RJ  CL
I1  IN  IN  CS  CR  CW  CO  CE  ES  SS  SR  SA  IN  IN
CW  CW  CW  CS  CR  CO  CO  CE  ES  SS  SR  SA  RJ  CL
CR  IN  IN  CR  CR  CW  CO  CE  ES  SS  SR  SA  RJ  CL
ES  I1  IN  CS  CR  CW  CO  ES  ES  SS  SR  SA  RJ  CL
SR  I1  IN  CS  CR  CW  CO  CE  SR  SS  SR  SA  RJ  CL
CL  IN  IN  CS  CR  CW  CO  CE  ES  CL  SR  CL  RJ  CL
CL  CL  CL  CS  CR  CW  CO  CE  ES  SS  SR  CL  RJ  CL
CL  I1  IN  CS  CR  CW  CO  CL  ES  SS  SR  SA  RJ  CL
CL  CL  CL  CL  CL  RJ  CL  CL  CL  CL  CL  CL  CL  CL
ES  I1  IN  CS  CR  CW  CO  CE  ES  SS  SR  SA  RJ  CL
CW  CW  CW  CW  CW  CW  CW  CW  ES  CW  CW  CW  CW  CW
CS  CS  CS  CS  CR  CW  CO  CE  ES  SS  SR  SA  RJ  CL
CE  CE  CE  CE  CE  CE  CE  CE  ES  SS  SR  SA  RJ  CL
ES  ES  ES  ES  ES  ES  ES  ES  ES  SS  SR  SA  RJ  CL
SS  SS  SS  SS  SS  SS  SS  SS  SS  SS  SR  SA  RJ  CL
SA  SA  SA  SA  SA  CW  CO  CE  ES  SA  SA  SA  RJ  CL
CL  I1  IN  CS  CR  CW  CO  CE  ES  SS  SR  SA  RJ  CL
CL  CL  CL  CL  CL  CW  CO  CE  ES  SS  SR  SA  RJ  CL
CL  RJ  CL  CL  CL  CL  CL  CL  CL  CL  CL  CL  CL  CL
ES  I1  IN  CS  CR  ES  CO  CE  ES  SS  SR  SA  RJ  CL
I1  IN  IN  IN  IN  IN  CO  CE  ES  SS  SR  SA  IN  IN
CE  CE  CE  CE  CE  CE  CO  CE  ES  SS  SR  SA  RJ  CL
ES  ES  ES  ES  ES  ES  CO  CE  ES  SS  SR  SA  RJ  CL
ES  I1  IN  ES  ES  CW  ES  ES  ES  SS  SR  SA  RJ  CL
SR  I1  IN  CS  CR  CW  CO  CE  SR  SS  SR  SA  RJ  CL
CL  IN  IN  CS  CR  CW  CO  CE  CL  CL  SR  CL  RJ  CL
CL  CL  CL  CL  CL  CW  CO  CE  ES  SS  CL  CL  RJ  CL
CL  I1  IN  CS  CR  CW  CO  CE  ES  SS  SR  SA  RJ  CL
CL  CL  CL  CL  CL  RJ  CL  CL  CL  CL  CL  CL  CL  CL`

// sctpEvent maps the first chunk types to an event index
// (ip_vs_proto_sctp.c: set_sctp_state).
func sctpEvent(chunk, next uint8) int {
	if (chunk == SCTPCookieEcho || chunk == SCTPCookieAck) && next == SCTPAbort {
		return 9
	}
	switch chunk {
	case SCTPInit:
		return 1
	case SCTPInitAck:
		return 2
	case SCTPCookieEcho:
		return 3
	case SCTPCookieAck:
		return 4
	case SCTPShutdown:
		return 5
	case SCTPShutdownAck:
		return 6
	case SCTPShutdownComplete:
		return 7
	case SCTPError:
		return 8
	case SCTPAbort:
		return 9
	}
	return 0
}
