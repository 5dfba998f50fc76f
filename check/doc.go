// Package check runs health checks of real servers and keeps a director in
// step with their health, with the semantics of keepalived's checkers
// (keepalived.conf(5): virtual_server, real_server and their checkers).
//
// # Checkers
//
// A [Prober] runs one attempt: [TCP] (TCP_CHECK: connect), [HTTP]
// (HTTP_GET and SSL_GET: status codes, MD5 digest of the body, virtual
// host), [Command] (MISC_CHECK: exit 0 healthy, 1 failed, 2..255 healthy
// with weight exit-2 under misc_dynamic, else failed), [UDP] (UDP_CHECK:
// a datagram, then a reply or no ICMP error before the timeout) and [DNS]
// (DNS_CHECK: a query answered with NOERROR). Every attempt has a context
// whose deadline is the check's timeout; a prober returns by it and leaves
// no goroutine, socket or process behind (a command's whole process group
// is killed).
//
// # Scheduling and state
//
// [Checker] runs one goroutine per checked server. The first attempt
// waits a random time up to the warmup; then the state machine is
// keepalived's checker epilog: an up server that fails is retried after
// delay_before_retry, Retries times, and goes down at the next failure;
// a down server is checked every interval and comes up at its first
// success. Servers start up, except with alpha, where they start down
// until their first success; until a server's first success one failure is
// enough to mark it down (keepalived 2.x). The intervals run on an
// injected [Clock].
//
// # Director changes
//
// The checker owns its servers' dests (and the sorry server's) and changes
// them only through an [Applier] (*control.Controller), so every change is
// serialized with the CLI, the API and reloads. After each transition it
// makes the director match what keepalived would have installed in IPVS
// after the same transitions:
//
//   - an alive server is in with its weight (a dynamic misc check's weight
//     when it set one);
//   - a down server is removed (DelDest), or, with inhibit_on_failure,
//     kept with weight 0 (EditDest);
//   - a service whose alive weight falls below quorum-hysteresis loses its
//     quorum (quorum_down); one that reaches quorum+hysteresis gains it
//     (quorum_up). With a sorry server, losing the quorum installs the sorry
//     server and takes the alive servers out (weight 0 when inhibited);
//     gaining it puts them back and removes the sorry server. Without one,
//     the quorum only runs the commands.
//
// # Failed servers, connections and templates
//
// The checker only changes weights and dests; what happens to the flows of
// a failed server is the core's business and follows its sysctls
// (ipvs.Settings), as in the kernel:
//
//   - Removal (the default). The dest leaves the service; its connections
//     stay bound to it. With expire_nodest_conn=0 (default) their packets
//     are dropped until the entries time out; with expire_nodest_conn=1 the
//     entries are expired at once and the next packet is scheduled anew.
//     Persistence templates pointing at the removed dest are invalid
//     whatever the sysctls: a persistent client's next connection is
//     scheduled to an alive server (ip_vs_check_template).
//   - inhibit_on_failure. The dest stays with weight 0: no new client is
//     scheduled to it, but its established connections go on (they drain),
//     and with expire_nodest_conn=1 a SYN that reuses one of its entries is
//     scheduled anew. Its templates stay valid while expire_quiescent_template
//     is 0 (default), so persistent clients keep being sent to the failed
//     server until their template expires; set expire_quiescent_template=1
//     to reschedule them at their next connection.
//
// # Notifications
//
// notify_up, notify_down, quorum_up and quorum_down run on one goroutine, in
// order, each with a timeout, without a shell and with only their configured
// arguments, as keepalived runs them; golvs adds GOLVS_EVENT, GOLVS_SERVICE,
// GOLVS_SERVER, GOLVS_WEIGHT and GOLVS_ALIVE_WEIGHT to their environment.
// As keepalived (without rs_init_notifies), a server that starts up and
// stays up is not notified; a quorum gained at start is. With omega, Stop
// runs notify_down for the alive servers and quorum_down.
//
// # Status
//
// [Checker.Status] reports each server's state, since when, its last error,
// consecutive failures and its last transitions; [Checker.Handler] serves it
// at GET /v1/health; [Checker.Health] feeds the metrics and the web view.
package check
