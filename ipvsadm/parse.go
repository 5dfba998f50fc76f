package ipvsadm

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/golvs/golvs/ipvs"
)

// CommandKind is the command of an ipvsadm invocation. The values of the
// real commands are ipvsadm.c's CMD_* constants.
type CommandKind int

// Commands.
const (
	CmdNone        CommandKind = iota
	CmdAdd                     // -A, --add-service
	CmdEdit                    // -E, --edit-service
	CmdDel                     // -D, --delete-service
	CmdFlush                   // -C, --clear
	CmdList                    // -L, -l, --list
	CmdAddDest                 // -a, --add-server
	CmdDelDest                 // -d, --delete-server
	CmdEditDest                // -e, --edit-server
	CmdTimeout                 // --set
	CmdStartDaemon             // --start-daemon
	CmdStopDaemon              // --stop-daemon
	CmdRestore                 // -R, --restore
	CmdSave                    // -S, --save
	CmdZero                    // -Z, --zero
	CmdHelp                    // -h, --help
	CmdVersion                 // -v, --version
)

// cmdNames is ipvsadm.c: cmdnames, indexed by CommandKind-1.
var cmdNames = []string{
	"add-service", "edit-service", "delete-service", "flush", "list",
	"add-server", "delete-server", "edit-server", "set", "start-daemon",
	"stop-daemon", "restore", "save", "zero",
}

// String returns ipvsadm's name of the command ("add-service", ...).
func (k CommandKind) String() string {
	switch {
	case k >= CmdAdd && k <= CmdZero:
		return cmdNames[k-1]
	case k == CmdHelp:
		return "help"
	case k == CmdVersion:
		return "version"
	}
	return "none"
}

// Options is a set of ipvsadm options (ipvsadm.c: OPT_*); bit i is option
// OPTC i.
type Options uint64

// Option bits, with ipvsadm's numbering.
const (
	OptNumeric Options = 1 << iota
	OptConnection
	OptService
	OptScheduler
	OptPersistent
	OptNetmask
	OptServer
	OptForward
	OptWeight
	OptUThreshold
	OptLThreshold
	OptMcast
	OptTimeout
	OptDaemon
	OptStats
	OptRate
	OptThresholds
	OptPersistentConn
	OptNoSort
	OptSyncID
	OptExact
	OptOnePacket
	OptPersistenceEngine
	OptSchedFlags
	OptMcastGroup
	OptMcastPort
	OptMcastTTL
	OptSyncMaxlen
	OptTunInfo
	OptTunType
	OptTunPort
	OptTunNoCsum
	OptTunCsum
	OptTunRemCsum
	// OptOutput is golvs's --output (-o json with -L).
	OptOutput
)

const (
	optcNumeric = iota
	optcConnection
	optcService
	optcScheduler
	optcPersistent
	optcNetmask
	optcServer
	optcForward
	optcWeight
	optcUThreshold
	optcLThreshold
	optcMcast
	optcTimeout
	optcDaemon
	optcStats
	optcRate
	optcThresholds
	optcPersistentConn
	optcNoSort
	optcSyncID
	optcExact
	optcOnePacket
	optcPersistenceEngine
	optcSchedFlags
	optcMcastGroup
	optcMcastPort
	optcMcastTTL
	optcSyncMaxlen
	optcTunInfo
	optcTunType
	optcTunPort
	optcTunNoCsum
	optcTunCsum
	optcTunRemCsum
	optcOutput
	numberOfOpt
)

// optNames is ipvsadm.c: optnames (plus golvs's "output").
var optNames = [numberOfOpt]string{
	"numeric", "connection", "service-address", "scheduler", "persistent",
	"netmask", "real-server", "forwarding-method", "weight", "u-threshold",
	"l-threshold", "mcast-interface", "timeout", "daemon", "stats", "rate",
	"thresholds", "persistent-conn", "nosort", "syncid", "exact", "ops", "pe",
	"sched-flags", "mcast-group", "mcast-port", "mcast-ttl", "sync-maxlen",
	"tun-info", "tun-type", "tun-port", "tun-nocsum", "tun-csum",
	"tun-remcsum", "output",
}

// commandsVOptions is ipvsadm.c: commands_v_options ('+' compulsory, 'x'
// illegal, '1' exclusive, ' ' optional), with a last column for golvs's
// --output, legal with -L only.
var commandsVOptions = [14]string{
	//         -n   -c   svc  -s   -p   -M   -r   fwd  -w   -x   -y   -mc  tot  dmn  -st  -rt  thr  -pc  srt  sid  -ex  ops  -pe  -b   grp  port ttl  size tinf type tprt nocs csum remc out
	/*ADD*/ "xx+   xxxxxxxxxxxxxxx   xxxxxxxxxxx",
	/*EDIT*/ "xx+   xxxxxxxxxxxxxxx   xxxxxxxxxxx",
	/*DEL*/ "xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	/*FLUSH*/ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	/*LIST*/ " 11xxxxxxxxx11       xxxxxxx xxxxx ",
	/*ADDSRV*/ "xx+xxx+    xxxxxxxxxxxxxxxxxx     x",
	/*DELSRV*/ "xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	/*EDITSRV*/ "xx+xxx+    xxxxxxxxxxxxxxxxxx     x",
	/*TIMEOUT*/ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	/*STARTD*/ "xxxxxxxxxxx xxxxxxx xxxx    xxxxxxx",
	/*STOPD*/ "xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxxx",
	/*RESTORE*/ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	/*SAVE*/ " xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	/*ZERO*/ "xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
}

// Tunnel option columns (ipvsadm.c: tunopts, tunnel_types_v_options).
var tunOpts = [4]int{optcTunPort, optcTunNoCsum, optcTunCsum, optcTunRemCsum}

var tunnelTypesVOptions = [3]string{
	/* ipip */ "xxxx",
	/* gue */ "+111",
	/* gre */ "x11x",
}

var tunNames = [3]string{"ipip", "gue", "gre"}

// Constants of ipvsadm.c and the kernel headers.
const (
	maxTimeout            = 86400 * 31 // MAX_TIMEOUT
	defaultPersistTimeout = 6 * 60     // IPVS_SVC_PERSISTENT_TIMEOUT
	defaultScheduler      = "wlc"      // DEF_SCHED
	defaultMcastIfn       = "eth0"     // DEF_MCAST_IFN
	schedNameMaxLen       = 16         // IP_VS_SCHEDNAME_MAXLEN
	peNameMaxLen          = 16         // IP_VS_PENAME_MAXLEN
	ifNameMaxLen          = 16         // IP_VS_IFNAME_MAXLEN

	afInet  = 2
	afInet6 = 10

	// service_to_port/parse_service results
	serviceAddr = 1
	servicePort = 2
)

// DaemonState selects the master or backup sync daemon.
type DaemonState uint32

// Daemon states (IP_VS_STATE_*).
const (
	DaemonMaster DaemonState = 1
	DaemonBackup DaemonState = 2
)

func (s DaemonState) String() string {
	switch s {
	case DaemonMaster:
		return "master"
	case DaemonBackup:
		return "backup"
	}
	return "none"
}

// DaemonConfig is what --start-daemon and --stop-daemon send, and what -L
// --daemon lists.
type DaemonConfig struct {
	State      DaemonState
	McastIfn   string
	SyncID     uint32
	SyncMaxLen uint16     // 0: kernel default
	McastGroup netip.Addr // invalid: kernel default
	McastPort  uint16     // 0: kernel default
	McastTTL   uint8      // 0: kernel default
}

// Output formats (golvs-only: -o json / --output json with -L).
const (
	OutputText = ""
	OutputJSON = "json"
)

// Command is one parsed ipvsadm invocation.
type Command struct {
	Kind CommandKind
	// Options holds the options given.
	Options Options
	// Service is the virtual service of -A/-E/-D/-Z/-L and of -a/-e/-d.
	// For a fwmark service Protocol is TCP, Addr the unspecified address
	// of the family and Port 0, as the kernel stores it.
	Service ipvs.ServiceConfig
	// Dest is the real server of -a/-e/-d (its port already defaulted and
	// forced as ipvsadm does).
	Dest ipvs.DestConfig
	// DestFamily is the real server's address family.
	DestFamily ipvs.Family
	// Timeouts are the values of --set (0 leaves a timeout unchanged).
	Timeouts ipvs.Timeouts
	// Daemon is the sync daemon of --start-daemon/--stop-daemon.
	Daemon DaemonConfig
	// List holds the layout options of -L and -S.
	List ListOptions
	// Output is OutputText or OutputJSON (golvs-only).
	Output string
}

// HasService reports whether a virtual service was given.
func (c *Command) HasService() bool { return c.Options&OptService != 0 }

// ZeroAll reports whether -Z (or -L) addresses every service: libipvs
// sends no service when it has no fwmark, a zero address and port 0
// (ipvs_zero_service), so "-Z -t 0.0.0.0:0" zeroes everything.
func (c *Command) zeroAll() bool {
	k := c.Service.ServiceKey
	return k.FWMark == 0 && k.Port == 0 && (!k.Addr.IsValid() || k.Addr.IsUnspecified())
}

// svcEntry mirrors libipvs's ipvs_service_t while parsing.
type svcEntry struct {
	af       uint16
	protocol uint8
	addr     [16]byte
	port     uint16
	fwmark   uint32
	sched    string
	flags    uint32
	timeout  uint32
	netmask  uint32 // IPv4: host order; IPv6: prefix length
	pe       string
}

// destEntry mirrors libipvs's ipvs_dest_t.
type destEntry struct {
	af        uint16
	addr      [16]byte
	port      uint16
	connFlags uint32
	weight    int32
	uThresh   uint32
	lThresh   uint32
	tunType   uint8
	tunPort   uint16
	tunFlags  uint16
}

type parser struct {
	db ServiceDB
}

// Parse parses one ipvsadm command line (args without the program name) as
// ipvsadm 1.31 does, with the built-in service names. It returns the
// command, or an *Error with ipvsadm's text and exit status. An empty
// args is `ipvsadm` alone: a listing of every service, names resolved.
func Parse(args []string) (*Command, error) {
	return Config{}.Parse(args)
}

// Config adjusts golvs's stand-ins for what ipvsadm asks the system's
// services database (/etc/services).
type Config struct {
	// Services resolves the port names given on the command line
	// ("10.0.0.1:http"); nil means BuiltinServices.
	Services ServiceDB
	// PortNames names ports in listings without -n and in -S without -n;
	// nil names none: ports print as numbers, as on the reference oracle,
	// whose guest has no /etc/services. BuiltinServices prints "http".
	PortNames ServiceDB
}

func (cfg Config) db() ServiceDB {
	if cfg.Services == nil {
		return BuiltinServices
	}
	return cfg.Services
}

// Parse is [Parse] with this configuration.
func (cfg Config) Parse(args []string) (*Command, error) {
	p := parser{db: cfg.db()}
	cmd, err := p.parse(args, false)
	if err != nil {
		return nil, err
	}
	return cmd, nil
}

func setOption(opts *Options, optc int) *Error {
	o := Options(1) << optc
	if *opts&o != 0 {
		return fail(ExitSyntax, "multiple '%s' options specified", optNames[optc])
	}
	*opts |= o
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// parse transcribes ipvsadm.c: parse_options and the checks of
// process_options that precede any kernel call.
func (p *parser) parse(args []string, readingStdin bool) (*Command, *Error) {
	argv := make([]string, 0, len(args)+1)
	argv = append(argv, program)
	for _, a := range args {
		argv = append(argv, cString(a))
	}
	if len(args) == 0 {
		return &Command{Kind: CmdList}, nil
	}

	cmd := &Command{}
	svc := svcEntry{netmask: 0xffffffff}
	dest := destEntry{weight: 1, connFlags: uint32(ipvs.FwdRoute)}
	var daemon DaemonConfig
	var opts Options
	var list ListOptions
	schedFlagsArg := ""

	ctx := newPopt(argv)
	c := ctx.getNextOpt()
	if c < 0 {
		return nil, tryHelp()
	}
	switch c {
	case 'A':
		cmd.Kind = CmdAdd
	case 'E':
		cmd.Kind = CmdEdit
	case 'D':
		cmd.Kind = CmdDel
	case 'a':
		cmd.Kind = CmdAddDest
	case 'e':
		cmd.Kind = CmdEditDest
	case 'd':
		cmd.Kind = CmdDelDest
	case 'C':
		cmd.Kind = CmdFlush
	case 'L', 'l':
		cmd.Kind = CmdList
	case 'Z':
		cmd.Kind = CmdZero
	case tagSet:
		cmd.Kind = CmdTimeout
	case 'R':
		cmd.Kind = CmdRestore
	case 'S':
		cmd.Kind = CmdSave
	case tagStartDaemon:
		cmd.Kind = CmdStartDaemon
		switch ctx.optArg {
		case "master":
			daemon.State = DaemonMaster
		case "backup":
			daemon.State = DaemonBackup
		default:
			return nil, fail(ExitSyntax, "illegal start-daemon parameter specified")
		}
	case tagStopDaemon:
		cmd.Kind = CmdStopDaemon
		switch ctx.optArg {
		case "master":
			daemon.State = DaemonMaster
		case "backup":
			daemon.State = DaemonBackup
		default:
			return nil, fail(ExitSyntax, "illegal start_daemon specified")
		}
	case 'h':
		return &Command{Kind: CmdHelp}, nil
	case 'v':
		return &Command{Kind: CmdVersion}, nil
	default:
		return nil, tryHelp()
	}

	for {
		c = ctx.getNextOpt()
		if c < 0 {
			break
		}
		arg := ctx.optArg
		var e *Error
		switch c {
		case 't', 'u', tagSCTPService:
			if e = setOption(&opts, optcService); e != nil {
				return nil, e
			}
			switch c {
			case 't':
				svc.protocol = ipvs.ProtoTCP
			case 'u':
				svc.protocol = ipvs.ProtoUDP
			default:
				svc.protocol = ipvs.ProtoSCTP
			}
			if p.parseService(arg, &svc)&serviceAddr == 0 {
				return nil, fail(ExitSyntax, "illegal virtual server address[:port] specified")
			}
		case 'f':
			if e = setOption(&opts, optcService); e != nil {
				return nil, e
			}
			svc.af = afInet
			svc.protocol = ipvs.ProtoTCP
			v, end, erange := strtol(arg)
			if end != len(arg) || end == 0 || erange || v <= 0 || v > math.MaxUint32 {
				return nil, fail(ExitSyntax, "invalid fwmark value `%s' specified", arg)
			}
			svc.fwmark = uint32(v)
		case 's':
			if e = setOption(&opts, optcScheduler); e != nil {
				return nil, e
			}
			svc.sched = truncate(arg, schedNameMaxLen-1)
		case 'p':
			if e = setOption(&opts, optcPersistent); e != nil {
				return nil, e
			}
			svc.flags |= uint32(ipvs.SvcPersistent)
			if !ctx.hasArg {
				svc.timeout = defaultPersistTimeout
			} else {
				v := stringToNumber(arg, 1, maxTimeout)
				if v == -1 {
					return nil, fail(ExitSyntax, "invalid timeout value `%s' specified", arg)
				}
				svc.timeout = uint32(v)
			}
		case 'M':
			if e = setOption(&opts, optcNetmask); e != nil {
				return nil, e
			}
			if svc.af != afInet6 {
				m, ok := inetAton(arg)
				if !ok {
					// host_to_addr: golvs does not resolve names.
					return nil, fail(ExitSyntax, "illegal virtual server persistent mask specified")
				}
				svc.netmask = m
			} else {
				svc.netmask = uint32(atoi(arg))
				if svc.netmask < 1 || svc.netmask > 128 {
					return nil, fail(ExitSyntax, "illegal ipv6 netmask specified")
				}
			}
		case 'r':
			if e = setOption(&opts, optcServer); e != nil {
				return nil, e
			}
			t := svc
			parse := p.parseService(arg, &t)
			dest.af, dest.addr, dest.port = t.af, t.addr, t.port
			if parse&serviceAddr == 0 {
				return nil, fail(ExitSyntax, "illegal real server address[:port] specified")
			}
			if parse == serviceAddr {
				dest.port = svc.port
			}
		case 'i', 'g', 'm':
			if e = setOption(&opts, optcForward); e != nil {
				return nil, e
			}
			switch c {
			case 'i':
				dest.connFlags = uint32(ipvs.FwdTunnel)
			case 'g':
				dest.connFlags = uint32(ipvs.FwdRoute)
			default:
				dest.connFlags = uint32(ipvs.FwdMasq)
			}
		case 'w':
			if e = setOption(&opts, optcWeight); e != nil {
				return nil, e
			}
			// Debian's ipvsadm 1.31 accepts weights up to INT_MAX
			// (upstream: 65535).
			v := stringToNumber(arg, 0, math.MaxInt32)
			if v == -1 {
				return nil, fail(ExitSyntax, "illegal weight specified")
			}
			dest.weight = int32(v)
		case 'x':
			if e = setOption(&opts, optcUThreshold); e != nil {
				return nil, e
			}
			v := stringToNumber(arg, 0, math.MaxInt32)
			if v == -1 {
				return nil, fail(ExitSyntax, "illegal u_threshold specified")
			}
			dest.uThresh = uint32(v)
		case 'y':
			if e = setOption(&opts, optcLThreshold); e != nil {
				return nil, e
			}
			v := stringToNumber(arg, 0, math.MaxInt32)
			if v == -1 {
				return nil, fail(ExitSyntax, "illegal l_threshold specified")
			}
			dest.lThresh = uint32(v)
		case 'c':
			e = setOption(&opts, optcConnection)
		case 'n':
			e = setOption(&opts, optcNumeric)
			list.Numeric = true
		case tagMcastInterface:
			e = setOption(&opts, optcMcast)
			daemon.McastIfn = truncate(arg, ifNameMaxLen-1)
		case 'I':
			if e = setOption(&opts, optcSyncID); e != nil {
				return nil, e
			}
			v := stringToNumber(arg, 0, 255)
			if v == -1 {
				return nil, fail(ExitSyntax, "illegal syncid specified")
			}
			daemon.SyncID = uint32(v)
		case tagTimeout:
			e = setOption(&opts, optcTimeout)
		case tagDaemon:
			e = setOption(&opts, optcDaemon)
		case tagStats:
			e = setOption(&opts, optcStats)
			list.Stats = true
		case tagRate:
			e = setOption(&opts, optcRate)
			list.Rate = true
		case tagThresholds:
			e = setOption(&opts, optcThresholds)
			list.Thresholds = true
		case tagPersistentConn:
			e = setOption(&opts, optcPersistentConn)
			list.PersistentConn = true
		case tagNoSort:
			e = setOption(&opts, optcNoSort)
			list.NoSort = true
		case tagSort:
			// the default; a no-op for compatibility
		case 'X':
			e = setOption(&opts, optcExact)
			list.Exact = true
		case '6':
			if svc.fwmark != 0 {
				svc.af = afInet6
				svc.netmask = 128
			} else {
				return nil, fail(ExitSyntax, "-6 used before -f\n")
			}
		case 'o':
			// golvs-only: "-L -o json" (ipvsadm rejects -o with -L).
			if cmd.Kind == CmdList && !ctx.hasCharArg && ctx.next < len(ctx.argv) && ctx.argv[ctx.next] == OutputJSON {
				ctx.next++
				if e = setOption(&opts, optcOutput); e != nil {
					return nil, e
				}
				cmd.Output = OutputJSON
				break
			}
			e = setOption(&opts, optcOnePacket)
			svc.flags |= uint32(ipvs.SvcOnePacket)
		case tagPersistenceEngine:
			e = setOption(&opts, optcPersistenceEngine)
			svc.pe = truncate(arg, peNameMaxLen)
		case 'b':
			e = setOption(&opts, optcSchedFlags)
			schedFlagsArg = truncate(arg, 127)
		case tagMcastGroup:
			if e = setOption(&opts, optcMcastGroup); e != nil {
				return nil, e
			}
			if strings.IndexByte(arg, ':') >= 0 {
				a, ok := inetPton6(arg)
				if !ok || a[0] != 0xff {
					return nil, fail(ExitSyntax, "invalid IPv6 mcast-group `%s'", arg)
				}
				daemon.McastGroup = netip.AddrFrom16(a)
			} else {
				a, ok := inetPton4(arg)
				if !ok || a[0]&0xf0 != 0xe0 {
					return nil, fail(ExitSyntax, "invalid IPv4 mcast-group `%s'", arg)
				}
				daemon.McastGroup = netip.AddrFrom4(a)
			}
		case tagMcastPort:
			if e = setOption(&opts, optcMcastPort); e != nil {
				return nil, e
			}
			v := stringToNumber(arg, 1, 65535)
			if v == -1 {
				return nil, fail(ExitSyntax, "illegal mcast-port specified")
			}
			daemon.McastPort = uint16(v)
		case tagMcastTTL:
			if e = setOption(&opts, optcMcastTTL); e != nil {
				return nil, e
			}
			v := stringToNumber(arg, 1, 255)
			if v == -1 {
				return nil, fail(ExitSyntax, "illegal mcast-ttl specified")
			}
			daemon.McastTTL = uint8(v)
		case tagSyncMaxlen:
			if e = setOption(&opts, optcSyncMaxlen); e != nil {
				return nil, e
			}
			v := stringToNumber(arg, 1, 65535-20-8)
			if v == -1 {
				return nil, fail(ExitSyntax, "illegal sync-maxlen specified")
			}
			daemon.SyncMaxLen = uint16(v)
		case tagTunInfo:
			e = setOption(&opts, optcTunInfo)
			list.TunInfo = true
		case tagTunType:
			if e = setOption(&opts, optcTunType); e != nil {
				return nil, e
			}
			t := -1
			for i, n := range tunNames {
				if arg == n {
					t = i
				}
			}
			if t < 0 {
				return nil, fail(ExitSyntax, "illegal tunnel type specified")
			}
			dest.tunType = uint8(t)
		case tagTunPort:
			if e = setOption(&opts, optcTunPort); e != nil {
				return nil, e
			}
			v := stringToNumber(arg, 1, 65535)
			if v == -1 {
				return nil, fail(ExitSyntax, "illegal tunnel port specified")
			}
			dest.tunPort = uint16(v)
		case tagTunNoCsum:
			e = setOption(&opts, optcTunNoCsum)
			dest.tunFlags |= ipvs.TunFlagNoCsum
		case tagTunCsum:
			e = setOption(&opts, optcTunCsum)
			dest.tunFlags |= ipvs.TunFlagCsum
		case tagTunRemCsum:
			e = setOption(&opts, optcTunRemCsum)
			dest.tunFlags |= ipvs.TunFlagRemCsum
		case tagOutput:
			if e = setOption(&opts, optcOutput); e != nil {
				return nil, e
			}
			switch arg {
			case "json":
				cmd.Output = OutputJSON
			case "text":
				cmd.Output = OutputText
			default:
				return nil, fail(ExitSyntax, "invalid output format `%s' specified", arg)
			}
		default:
			return nil, fail(ExitSyntax, "invalid option `%s'", ctx.badOption())
		}
		if e != nil {
			return nil, e
		}
	}
	if c < -1 {
		return nil, &Error{
			Text:   fmt.Sprintf("%s: %s\n", ctx.badOption(), poptStrerror(c)),
			Status: ExitKernel,
		}
	}

	if cmd.Kind == CmdTimeout {
		a0, ok0 := ctx.getArg()
		a1, ok1 := ctx.getArg()
		a2, ok2 := ctx.getArg()
		if !(ok0 && ok1 && ok2) {
			return nil, fail(ExitSyntax, "--set option requires 3 timeout values")
		}
		var vals [3]int64
		for i, a := range []string{a0, a1, a2} {
			vals[i] = stringToNumber(a, 0, maxTimeout)
			if vals[i] == -1 {
				return nil, fail(ExitSyntax, "invalid timeout value `%s' specified", a)
			}
		}
		cmd.Timeouts = ipvs.Timeouts{
			TCP:    time.Duration(vals[0]) * time.Second,
			TCPFin: time.Duration(vals[1]) * time.Second,
			UDP:    time.Duration(vals[2]) * time.Second,
		}
	}
	if a, ok := ctx.getArg(); ok {
		return nil, fail(ExitSyntax, "unexpected argument %s", a)
	}
	if schedFlagsArg != "" {
		svc.flags &^= uint32(ipvs.SvcSchedMask)
		f, e := parseSchedFlags(svc.sched, schedFlagsArg)
		if e != nil {
			return nil, e
		}
		svc.flags |= f
	}

	// process_options
	if e := genericOptCheck(cmd.Kind, opts); e != nil {
		return nil, e
	}
	if cmd.Kind == CmdAdd || cmd.Kind == CmdEdit {
		if svc.fwmark == 0 && svc.port == 0 && svc.flags&uint32(ipvs.SvcPersistent) == 0 {
			return nil, fail(ExitSyntax, "Zero port specified for non-persistent service")
		}
		if svc.flags&uint32(ipvs.SvcOnePacket) != 0 && svc.fwmark == 0 && svc.protocol != ipvs.ProtoUDP {
			return nil, fail(ExitSyntax, "One-Packet Scheduling is only for UDP virtual services")
		}
		if svc.sched == "" {
			svc.sched = defaultScheduler
		}
	}
	if cmd.Kind == CmdStartDaemon && daemon.McastIfn == "" {
		daemon.McastIfn = defaultMcastIfn
	}
	fwd := ipvs.FwdMethod(dest.connFlags & 7)
	if cmd.Kind == CmdAddDest || cmd.Kind == CmdEditDest {
		if svc.fwmark == 0 && (fwd == ipvs.FwdTunnel || fwd == ipvs.FwdRoute) {
			dest.port = svc.port
		}
		if dest.af != svc.af && fwd != ipvs.FwdTunnel {
			return nil, fail(ExitSyntax, "Different address family is allowed only for tunneling servers")
		}
		if opts&(OptTunType|OptTunPort|OptTunNoCsum|OptTunCsum|OptTunRemCsum) != 0 && fwd != ipvs.FwdTunnel {
			return nil, fail(ExitSyntax, "Tunnel options conflict with forward method")
		}
		if e := tunnelOptCheck(int(dest.tunType), opts); e != nil {
			return nil, e
		}
	}
	if cmd.Kind == CmdList {
		if (opts&(OptConnection|OptTimeout|OptDaemon) != 0 && opts&(OptStats|OptRate|OptThresholds) != 0) ||
			(opts&(OptTimeout|OptDaemon) != 0 && opts&OptPersistentConn != 0) {
			return nil, fail(ExitSyntax, "options conflicts in the list command")
		}
	}
	if cmd.Kind == CmdSave {
		list.rule = true
	}

	cmd.Options = opts
	cmd.Service = svc.config()
	cmd.Dest = dest.config()
	cmd.DestFamily = ipvs.Family(dest.af)
	cmd.Daemon = daemon
	cmd.List = list
	if cmd.Kind == CmdList && opts&OptService != 0 {
		cmd.List.NoVersion = true
	}
	return cmd, nil
}

// parseService transcribes ipvsadm.c: parse_service. It updates svc as the
// C code does (even on failure) and returns SERVICE_ADDR|SERVICE_PORT bits.
func (p *parser) parseService(buf string, svc *svcEntry) int {
	if strIsDigit(buf) {
		return 0
	}
	s := buf
	port, hasPort := "", false
	if s[0] == '[' {
		s = s[1:]
		i := strings.IndexByte(s, ']')
		if i < 0 {
			return 0
		}
		rest := s[i+1:]
		s = s[:i]
		if rest == "" || rest[0] != ':' {
			return 0
		}
		port, hasPort = rest[1:], true
	}
	if a, ok := inetPton6(s); ok {
		svc.addr = a
		svc.af = afInet6
		svc.netmask = 128
	} else {
		hasPort = false
		if i := strings.LastIndexByte(s, ':'); i >= 0 {
			port, hasPort = s[i+1:], true
			s = s[:i]
		}
		v4, ok := inetAton(s)
		if !ok {
			// host_to_addr (gethostbyname): golvs resolves no host names.
			return 0
		}
		svc.addr = [16]byte{}
		binary.BigEndian.PutUint32(svc.addr[:4], v4)
		svc.af = afInet
	}
	result := serviceAddr
	if hasPort {
		result |= servicePort
		if n := stringToNumber(port, 0, 65535); n != -1 {
			svc.port = uint16(n)
		} else if n, ok := p.serviceToPort(port, svc.protocol); ok {
			svc.port = n
		} else {
			return 0
		}
	}
	return result
}

// serviceToPort is ipvsadm.c: service_to_port (getservbyname for tcp, udp
// or sctp).
func (p *parser) serviceToPort(name string, proto uint8) (uint16, bool) {
	if proto != ipvs.ProtoTCP && proto != ipvs.ProtoUDP && proto != ipvs.ProtoSCTP {
		return 0, false
	}
	return p.db.Port(name, proto)
}

// strIsDigit is ipvsadm.c: str_is_digit (true for the empty string).
func strIsDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// parseSchedFlags transcribes ipvsadm.c: parse_sched_flags.
func parseSchedFlags(sched, arg string) (uint32, *Error) {
	if sched == "" {
		sched = defaultScheduler
	}
	var flags uint32
	var toks []string
	for _, t := range strings.Split(arg, ",") {
		if t != "" {
			toks = append(toks, t)
		}
	}
	if len(toks) == 0 {
		// strtok returns NULL and ipvsadm 1.31 dereferences it.
		return 0, &Error{Status: ExitSegfault, fatal: true}
	}
	for _, f := range toks {
		var need string
		switch f {
		case "flag-1":
			flags |= uint32(ipvs.SvcSched1)
		case "flag-2":
			flags |= uint32(ipvs.SvcSched2)
		case "flag-3":
			flags |= uint32(ipvs.SvcSched3)
		case "sh-fallback":
			flags |= uint32(ipvs.SvcSched1)
			need = "sh"
		case "sh-port":
			flags |= uint32(ipvs.SvcSched2)
			need = "sh"
		case "mh-fallback":
			flags |= uint32(ipvs.SvcSched1)
			need = "mh"
		case "mh-port":
			flags |= uint32(ipvs.SvcSched2)
			need = "mh"
		default:
			return 0, fail(ExitSyntax, "invalid scheduler flag `%s'", f)
		}
		if need != "" && sched != need {
			return 0, fail(ExitSyntax, "incompatible scheduler flag `%s'", f)
		}
	}
	return flags, nil
}

// genericOptCheck transcribes ipvsadm.c: generic_opt_check.
func genericOptCheck(kind CommandKind, opts Options) *Error {
	row := commandsVOptions[kind-1]
	last, count := 0, 0
	for j := 0; j < numberOfOpt; j++ {
		if opts&(1<<j) == 0 {
			if row[j] == '+' {
				return fail(ExitSyntax, "You need to supply the '%s' option for the '%s' command", optNames[j], cmdNames[kind-1])
			}
			continue
		}
		if row[j] == 'x' {
			return fail(ExitSyntax, "Illegal '%s' option with the '%s' command", optNames[j], cmdNames[kind-1])
		}
		if row[j] == '1' {
			count++
			if count == 1 {
				last = j
				continue
			}
			return fail(ExitSyntax, "The option '%s' conflicts with the '%s' option in the '%s' command", optNames[j], optNames[last], cmdNames[kind-1])
		}
	}
	return nil
}

// tunnelOptCheck transcribes ipvsadm.c: tunnel_opt_check.
func tunnelOptCheck(tunType int, opts Options) *Error {
	row := tunnelTypesVOptions[tunType]
	last, count := 0, 0
	for j := 0; j < len(tunOpts); j++ {
		k := tunOpts[j]
		if opts&(1<<k) == 0 {
			if row[j] == '+' {
				return fail(ExitSyntax, "You need to supply the '%s' option for the '%s' tunnel type", optNames[k], tunNames[tunType])
			}
			continue
		}
		if row[j] == 'x' {
			return fail(ExitSyntax, "Illegal '%s' option with the '%s' tunnel type", optNames[k], tunNames[tunType])
		}
		if row[j] == '1' {
			count++
			if count == 1 {
				last = k
				continue
			}
			return fail(ExitSyntax, "The option '%s' conflicts with the '%s' option in the '%s' tunnel type", optNames[k], optNames[last], tunNames[tunType])
		}
	}
	return nil
}

func addrOf(af uint16, a [16]byte) netip.Addr {
	if af == afInet6 {
		return netip.AddrFrom16(a)
	}
	return netip.AddrFrom4([4]byte{a[0], a[1], a[2], a[3]})
}

func (s *svcEntry) config() ipvs.ServiceConfig {
	af := s.af
	if af == 0 {
		af = afInet
	}
	k := ipvs.ServiceKey{
		Family:   ipvs.Family(af),
		Protocol: s.protocol,
		Addr:     addrOf(af, s.addr),
		Port:     s.port,
		FWMark:   s.fwmark,
	}
	if s.fwmark != 0 {
		k.Protocol = ipvs.ProtoTCP
		k.Port = 0
		k.Addr = addrOf(af, [16]byte{})
	}
	return ipvs.ServiceConfig{
		ServiceKey: k,
		NetmaskSet: true,
		Scheduler:  s.sched,
		Flags:      ipvs.ServiceFlags(s.flags),
		Timeout:    s.timeout,
		Netmask:    s.netmask,
		PE:         s.pe,
	}
}

func (d *destEntry) config() ipvs.DestConfig {
	af := d.af
	if af == 0 {
		af = afInet
	}
	return ipvs.DestConfig{
		Addr:       addrOf(af, d.addr),
		Port:       d.port,
		Method:     ipvs.FwdMethod(d.connFlags & 7),
		Weight:     d.weight,
		UThreshold: d.uThresh,
		LThreshold: d.lThresh,
		TunType:    d.tunType,
		TunPort:    d.tunPort,
		TunFlags:   d.tunFlags,
	}
}
