package ipvsadm

import "github.com/golvs/golvs/ipvs"

// ServiceDB stands in for the services database (/etc/services) that
// ipvsadm consults through getservbyname and getservbyport: port names in
// addresses ("10.0.0.1:http") and port names in non-numeric listings.
type ServiceDB interface {
	// Port returns the port of a service name for a protocol (ipvs.ProtoTCP,
	// ProtoUDP, ProtoSCTP), or false.
	Port(name string, proto uint8) (uint16, bool)
	// Name returns the canonical name of a port for a protocol, or false.
	Name(port uint16, proto uint8) (string, bool)
}

type serviceEntry struct {
	name    string
	port    uint16
	tcp     bool
	udp     bool
	sctp    bool
	aliases []string
}

// builtinServices is a small excerpt of Debian's /etc/services (netbase):
// the well-known services a load balancer is commonly configured with.
// golvs never reads /etc/services or asks DNS.
var builtinServices = []serviceEntry{
	{name: "ftp-data", port: 20, tcp: true},
	{name: "ftp", port: 21, tcp: true},
	{name: "ssh", port: 22, tcp: true},
	{name: "telnet", port: 23, tcp: true},
	{name: "smtp", port: 25, tcp: true, aliases: []string{"mail"}},
	{name: "domain", port: 53, tcp: true, udp: true},
	{name: "tftp", port: 69, udp: true},
	{name: "http", port: 80, tcp: true, sctp: true, aliases: []string{"www"}},
	{name: "kerberos", port: 88, tcp: true, udp: true, aliases: []string{"kerberos5", "krb5", "kerberos-sec"}},
	{name: "pop3", port: 110, tcp: true, aliases: []string{"pop-3"}},
	{name: "sunrpc", port: 111, tcp: true, udp: true, aliases: []string{"portmapper"}},
	{name: "nntp", port: 119, tcp: true, aliases: []string{"readnews", "untp"}},
	{name: "ntp", port: 123, udp: true},
	{name: "imap2", port: 143, tcp: true, aliases: []string{"imap"}},
	{name: "snmp", port: 161, tcp: true, udp: true},
	{name: "ldap", port: 389, tcp: true, udp: true},
	{name: "https", port: 443, tcp: true, udp: true, sctp: true},
	{name: "microsoft-ds", port: 445, tcp: true},
	{name: "submission", port: 587, tcp: true},
	{name: "ldaps", port: 636, tcp: true, udp: true},
	{name: "imaps", port: 993, tcp: true},
	{name: "pop3s", port: 995, tcp: true},
	{name: "openvpn", port: 1194, tcp: true, udp: true},
	{name: "mysql", port: 3306, tcp: true},
	{name: "diameter", port: 3868, tcp: true, sctp: true},
	{name: "sip", port: 5060, tcp: true, udp: true},
	{name: "sip-tls", port: 5061, tcp: true, udp: true},
	{name: "postgresql", port: 5432, tcp: true, aliases: []string{"postgres"}},
	{name: "http-alt", port: 8080, tcp: true, aliases: []string{"webcache"}},
}

type builtinDB struct{}

func (e *serviceEntry) has(proto uint8) bool {
	switch proto {
	case ipvs.ProtoTCP:
		return e.tcp
	case ipvs.ProtoUDP:
		return e.udp
	case ipvs.ProtoSCTP:
		return e.sctp
	}
	return false
}

func (builtinDB) Port(name string, proto uint8) (uint16, bool) {
	for i := range builtinServices {
		e := &builtinServices[i]
		if !e.has(proto) {
			continue
		}
		if e.name == name {
			return e.port, true
		}
		for _, a := range e.aliases {
			if a == name {
				return e.port, true
			}
		}
	}
	return 0, false
}

func (builtinDB) Name(port uint16, proto uint8) (string, bool) {
	for i := range builtinServices {
		e := &builtinServices[i]
		if e.port == port && e.has(proto) {
			return e.name, true
		}
	}
	return "", false
}

// BuiltinServices is the default ServiceDB: a small built-in excerpt of
// Debian's /etc/services (ftp, ssh, smtp, domain, http, https, sip, ...).
var BuiltinServices ServiceDB = builtinDB{}

type noServices struct{}

func (noServices) Port(string, uint8) (uint16, bool) { return 0, false }
func (noServices) Name(uint16, uint8) (string, bool) { return "", false }

// NoServices resolves no names, as on a system without /etc/services (the
// oracle's guest is one: there `ipvsadm -L` prints numeric ports).
var NoServices ServiceDB = noServices{}
