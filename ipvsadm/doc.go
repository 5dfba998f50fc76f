// Package ipvsadm is ipvsadm 1.31's command line over the golvs core:
// its grammar (popt's, with ipvsadm's option table and checks), its exact
// error messages and exit statuses, its listing layouts and its save and
// restore format, as pure functions over the core's types.
//
// [Parse] turns a command line into a [Command] or an [*Error] carrying
// ipvsadm's text and exit status (2 for a command line it refuses, 255 for
// popt's errors, "Try `ipvsadm -h' ..." and refused operations, 1 for a
// listing of a missing service). [Run] executes an invocation against a
// [Target] as the real tool does, -R included. [FormatList], [FormatSave],
// [FormatConns], [FormatProcConn], [FormatTimeouts] and [FormatDaemons]
// print the listings byte for byte, trailing blanks included, sorted as
// ipvsadm sorts (glibc's merge sort with libipvs's signed differences: see
// [SortServices]).
//
// What golvs does not do like a Debian system running ipvsadm:
//
//   - Names: no DNS and no /etc/hosts. A host name where ipvsadm accepts one
//     (-t, -u, --sctp-service, -r, -M) is refused as an unresolvable name
//     is; every numeric form glibc's inet_aton and inet_pton accept works.
//     Port names given on the command line ("10.0.0.1:http") are looked up
//     in a [ServiceDB]: by default [BuiltinServices], a small excerpt of
//     Debian's /etc/services (ftp, ssh, telnet, smtp, domain, http, https,
//     pop3, imap2, ldap, sip, mysql, postgresql, http-alt, ...).
//   - Listings without -n print addresses numerically and, by default,
//     ports numerically too: that is what the reference oracle prints (its
//     guest has no /etc/services), and its transcripts are golvs's golden
//     data. [Config].PortNames = [BuiltinServices] prints "10.0.0.1:http"
//     as a Debian host would.
//   - The weight accepts 0..2147483647, as Debian's ipvsadm 1.31 does
//     (upstream stops at 65535).
//   - popt's "!#:+" argument expansion is applied, except that where popt
//     would loop for ever golvs keeps the text.
//   - "-b ," makes ipvsadm 1.31 crash (strtok returns NULL); golvs returns
//     exit status 139 and prints nothing, which is what a shell sees apart
//     from its own "Segmentation fault" message.
//
// golvs-only additions (they change no ipvsadm-compatible output):
//
//   - JSON: `-L ... -o json` or `-L ... --output json` prints the listing as
//     JSON (see [JSONList], [JSONConns], [JSONTimeouts], [JSONDaemons]).
//     ipvsadm itself rejects -o with -L and knows no --output.
//   - --start-daemon/--stop-daemon need a Target that implements
//     [DaemonTarget]; otherwise they print "sync daemon not supported by this
//     target" and exit with status 255.
package ipvsadm
