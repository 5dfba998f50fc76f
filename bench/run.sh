#!/usr/bin/env bash
# bench/run.sh: golvs versus HAProxy (mode tcp) and nginx stream as TCP relays, on loopback.
#
# Usage (as root, from anywhere in the repository):  bench/run.sh
#
# It installs what it needs from Debian's archive (haproxy, nginx, libnginx-mod-stream, wrk), builds
# golvsd, golvsadm and the bench tools (bench/cmd/...), starts one backend and the three proxies, and
# measures, for each proxy and for the backend directly, in interleaved rounds (golvs, HAProxy, nginx,
# direct, golvs, ...):
#   cps         new TCP connections/s: wrk with `Connection: close` (one request per connection)
#   rps         requests/s on kept-alive connections: wrk
#   gbps        relay throughput of long streams: benchtool stream-client against benchtool stream-server
#   lat_ka_*    p50/p99 latency of one request at a time on a kept-alive connection (benchtool lat)
#   lat_cc_*    p50/p99 latency of one request at a time on a new connection each (benchtool lat)
# The added latency of a proxy is its latency minus the backend's, measured in the same round.
# Same CPU budget for every proxy: each pinned to core PROXY_CPU (golvs with GOMAXPROCS=1, HAProxy
# nbthread 1, nginx worker_processes 1); the backend (nginx http, one worker, a small static response;
# benchtool stream-server for streams) and the load generators pinned to core LOAD_CPU.
# Every test is bounded in time; all traffic is on 127.0.0.1.
#
# Environment (defaults in brackets):
#   ROUNDS [3]  DURATION [10] seconds per load test  LAT_DURATION [4] seconds per latency test
#   CONNS_KA [64] wrk connections, kept-alive  CONNS_CC [32] wrk connections, Connection: close
#   STREAMS [4] parallel streams  PROXY_CPU [0]  LOAD_CPU [1]  BASE_PORT [18000] (ports BASE+80..BASE+481)
#   NICE [0]    niceness of every benchmark process (the same for all: e.g. -10 on a shared machine)
#   WAIT_IDLE [0] seconds to wait at most for the 1-minute load average to fall below 0.5 before starting
#   FOREIGN_MAX [20] % of a core that other processes of the machine may use during a test: before each
#               test the script waits (QUIET_MAX [20] seconds at most) for them to use less, and a test
#               during which they used more is run again (RETRIES [2] times at most, RETRIES_TOTAL [20]
#               in the run); what they used is recorded as foreign_* and shown in the report
#   PROFILE [0] 1: afterwards, CPU-profile golvs's proxy (bench/cmd/golvsprof) under each load and
#               write `go tool pprof -top` of each profile
#   OUT [bench/out] where report.md, results.tsv, the profiles and the logs go
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
LAT_DURATION=${LAT_DURATION:-4}
CONNS_KA=${CONNS_KA:-64}
CONNS_CC=${CONNS_CC:-32}
STREAMS=${STREAMS:-4}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
BASE_PORT=${BASE_PORT:-18000}
NICE=${NICE:-0}
WAIT_IDLE=${WAIT_IDLE:-0}
PROFILE=${PROFILE:-0}
FOREIGN_MAX=${FOREIGN_MAX:-20}
QUIET_MAX=${QUIET_MAX:-20}
RETRIES=${RETRIES:-2}
RETRIES_TOTAL=${RETRIES_TOTAL:-20}

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/haproxy-cfg.sh
. "$(dirname "$0")/haproxy-cfg.sh"
OUT=${OUT:-$root/bench/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
work=$OUT/work
rm -rf "$work"
mkdir -p "$work/bin" "$work/tmp"
sockdir=$(mktemp -d /tmp/golvs-bench.XXXXXX)

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs packages with apt-get)"
[ "$(nproc)" -ge 2 ] || die "needs 2 cores"

# ---- packages -------------------------------------------------------------------------------------
need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v nginx >/dev/null || need+=(nginx)
command -v wrk >/dev/null || need+=(wrk)
command -v taskset >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ] || ! ls /usr/lib/nginx/modules/ngx_stream_module.so >/dev/null 2>&1; then
  if ! nginx -V 2>&1 | grep -q -- '--with-stream '; then need+=(libnginx-mod-stream); fi
  log "installing ${need[*]}"
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    # Keep the packages from starting their system services (port 80 and the like).
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >"$work/apt.log" 2>&1 ||
    { tail -20 "$work/apt.log" >&2; die "apt-get install failed"; }
  if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
stream_module=""
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] && stream_module="load_module /usr/lib/nginx/modules/ngx_stream_module.so;"

# ---- build ----------------------------------------------------------------------------------------
log "building golvsd, golvsadm and the bench tools"
(cd "$root" && go build -o "$work/bin/" ./cmd/golvsd ./cmd/golvsadm ./bench/cmd/benchtool ./bench/cmd/golvsprof)
bt=$work/bin/benchtool
commit=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(cd "$root" && git status --porcelain --untracked-files=no 2>/dev/null | grep -qv ' bench/' && echo " (work tree modified)" || true)

# ---- processes ------------------------------------------------------------------------------------
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$sockdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Command prefixes that exec the command itself (no shell in between), so that $! is its pid.
ON_PROXY=(nice -n "$NICE" taskset -c "$PROXY_CPU")
ON_LOAD=(nice -n "$NICE" taskset -c "$LOAD_CPU")

# start NAME CMD...: runs CMD in the background, logging to work/NAME.log; sets $last_pid.
start() {
  local name=$1
  shift
  "$@" >"$work/$name.log" 2>&1 &
  last_pid=$!
  pids+=("$last_pid")
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

P_BACKEND=$((BASE_PORT + 80)) P_STREAM=$((BASE_PORT + 81))
P_GOLVS=$((BASE_PORT + 180)) P_GOLVS_S=$((BASE_PORT + 181))
P_HAPROXY=$((BASE_PORT + 280)) P_HAPROXY_S=$((BASE_PORT + 281))
P_NGINX=$((BASE_PORT + 380)) P_NGINX_S=$((BASE_PORT + 381))
P_PROF=$((BASE_PORT + 480)) P_PROF_S=$((BASE_PORT + 481))
for p in $P_BACKEND $P_STREAM $P_GOLVS $P_GOLVS_S $P_HAPROXY $P_HAPROXY_S $P_NGINX $P_NGINX_S $P_PROF $P_PROF_S; do
  port_busy "$p" && die "port $p is in use (set BASE_PORT)"
done

if [ "$WAIT_IDLE" -gt 0 ]; then
  end=$((SECONDS + WAIT_IDLE))
  while awk '{exit !($1 >= 0.5)}' /proc/loadavg && [ $SECONDS -lt $end ]; do sleep 5; done
fi
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
if awk '{exit !($1 >= 0.5)}' /proc/loadavg; then
  log "warning: load average $load_start: other work is running, figures will be noisy"
fi

# Backend: nginx http, one worker, a small static response.
mkdir -p "$work/nginx-backend"
cat >"$work/backend.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/backend.pid;
error_log $work/backend.err warn;
worker_rlimit_nofile $nofile;
events { worker_connections $((nofile / 2)); }
http {
  access_log off;
  client_body_temp_path $work/nginx-backend/body;
  proxy_temp_path $work/nginx-backend/proxy;
  fastcgi_temp_path $work/nginx-backend/fastcgi;
  uwsgi_temp_path $work/nginx-backend/uwsgi;
  scgi_temp_path $work/nginx-backend/scgi;
  keepalive_requests 1000000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:$P_BACKEND backlog=4096;
    location / { default_type text/plain; return 200 "hello from the backend\n"; }
  }
}
EOF
start backend "${ON_LOAD[@]}" nginx -c "$work/backend.conf" -e "$work/backend.err"
pid_backend_master=$last_pid
start stream-server "${ON_LOAD[@]}" env GOMAXPROCS=1 "$bt" stream-server -listen "127.0.0.1:$P_STREAM" -lifetime 2h

# golvs: golvsd configured with golvsadm, full-NAT user-space relay.
export GOLVS_SOCKET=$sockdir/golvs.sock
start golvsd "${ON_PROXY[@]}" env GOMAXPROCS=1 "$work/bin/golvsd" -demo=false -socket "$GOLVS_SOCKET"
pid_golvs=$last_pid
for _ in $(seq 100); do [ -S "$GOLVS_SOCKET" ] && break; sleep 0.1; done
for pair in "$P_GOLVS:$P_BACKEND" "$P_GOLVS_S:$P_STREAM"; do
  "$work/bin/golvsadm" -A -t "127.0.0.1:${pair%%:*}" -s rr
  "$work/bin/golvsadm" -a -t "127.0.0.1:${pair%%:*}" -r "127.0.0.1:${pair##*:}" -m
done
"$work/bin/golvsadm" -L -n >"$work/golvsadm-L.txt"

# HAProxy, mode tcp, one thread.
haproxy_cfg "$nofile" "http:$P_HAPROXY:$P_BACKEND" "stream:$P_HAPROXY_S:$P_STREAM" >"$work/haproxy.cfg"
start haproxy "${ON_PROXY[@]}" haproxy -f "$work/haproxy.cfg" -db
pid_haproxy=$last_pid

# nginx stream, one worker.
cat >"$work/nginx-stream.conf" <<EOF
$stream_module
worker_processes 1;
daemon off;
pid $work/nginx-stream.pid;
error_log $work/nginx-stream.err warn;
worker_rlimit_nofile $nofile;
events { worker_connections $((nofile / 2)); }
stream {
  server { listen 127.0.0.1:$P_NGINX backlog=4096; proxy_pass 127.0.0.1:$P_BACKEND; }
  server { listen 127.0.0.1:$P_NGINX_S backlog=4096; proxy_pass 127.0.0.1:$P_STREAM; }
}
EOF
start nginx-stream "${ON_PROXY[@]}" nginx -c "$work/nginx-stream.conf" -e "$work/nginx-stream.err"
pid_nginx_master=$last_pid

"$bt" wait -timeout 15s -addr "127.0.0.1:$P_BACKEND,127.0.0.1:$P_STREAM,127.0.0.1:$P_GOLVS,127.0.0.1:$P_GOLVS_S,127.0.0.1:$P_HAPROXY,127.0.0.1:$P_HAPROXY_S,127.0.0.1:$P_NGINX,127.0.0.1:$P_NGINX_S" ||
  { tail -n 5 "$work"/*.log "$work"/*.err >&2 || true; die "a server did not start"; }
pid_nginx=$(pgrep -P "$pid_nginx_master" | head -1)
[ -n "$pid_nginx" ] || die "no nginx stream worker"
pid_backend=$(pgrep -P "$pid_backend_master" | head -1)
[ -n "$pid_backend" ] || die "no nginx backend worker"
server_pids=("${pids[@]}" "$pid_nginx" "$pid_backend")

declare -A http_port=([direct]=$P_BACKEND [golvs]=$P_GOLVS [haproxy]=$P_HAPROXY [nginx]=$P_NGINX)
declare -A stream_port=([direct]=$P_STREAM [golvs]=$P_GOLVS_S [haproxy]=$P_HAPROXY_S [nginx]=$P_NGINX_S)
declare -A proxy_pid=([golvs]=$pid_golvs [haproxy]=$pid_haproxy [nginx]=$pid_nginx)

# Smoke test: every target answers a request and streams.
for t in direct golvs haproxy nginx; do
  "$bt" lat -addr "127.0.0.1:${http_port[$t]}" -warmup 0 -n 5 -duration 2s >/dev/null || die "$t: no HTTP answer"
  "$bt" stream-client -addr "127.0.0.1:${stream_port[$t]}" -conns 1 -warmup 0 -duration 200ms >/dev/null || die "$t: no stream"
done

# ---- measurements ---------------------------------------------------------------------------------
results=$OUT/results.tsv
pending=$work/pending.tsv
echo "# round target metric value" >"$results"
clk=$(getconf CLK_TCK)
now() { date +%s.%N; }
ticks_of() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
cpu_ticks() { ticks_of "$1"; }
# CPU ticks (user, nice, system) of the whole machine; of the benchmark's servers; of this shell's
# finished children (the load generators).
machine_ticks() { awk '/^cpu /{print $2 + $3 + $4; exit}' /proc/stat; }
ours_ticks() {
  local p sum=0
  for p in "${server_pids[@]}"; do sum=$((sum + $(ticks_of "$p" 2>/dev/null || echo 0))); done
  echo "$sum"
}
children_ticks() { sed 's/.*) //' "/proc/$$/stat" | awk '{print $14 + $15}'; }
# Kernel threads (ksoftirqd handles loopback traffic when softirqs pile up): not other work.
# A process that exits between the glob and cat makes cat fail: not an error here (pipefail).
kthread_ticks() { { cat /proc/[0-9]*/stat 2>/dev/null || true; } | sed 's/.*) //' | awk '$2 == 2 {s += $12 + $13} END {print s + 0}'; }
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$pending"; }

# wait_quiet: waits, at most QUIET_MAX seconds, until the machine's other processes use less than
# FOREIGN_MAX % of a core over one second.
wait_quiet() {
  local end=$((SECONDS + QUIET_MAX)) m0 o0 m1 o1 r0 r1
  while :; do
    m0=$(machine_ticks) o0=$(ours_ticks) r0=$(kthread_ticks)
    sleep 1
    m1=$(machine_ticks) o1=$(ours_ticks) r1=$(kthread_ticks)
    [ $(((m1 - m0 - (o1 - o0) - (r1 - r0)) * 100 / clk)) -lt "$FOREIGN_MAX" ] && return 0
    [ $SECONDS -ge $end ] && return 0
  done
}

# measure ROUND TARGET METRIC CMD...: runs a test after waiting for a quiet machine; records what it
# measured, the proxy's CPU use as cpu_METRIC (load tests) and the CPU that other processes of the
# machine used meanwhile as foreign_METRIC (% of one core). A test during which other processes used
# more than FOREIGN_MAX % is run again, up to RETRIES times (RETRIES_TOTAL in the whole run).
retries_left=$RETRIES_TOTAL
measure() {
  local round=$1 target=$2 metric=$3
  shift 3
  local pid=${proxy_pid[$target]:-} attempt t0 t1 c0 c1 m0 m1 o0 o1 k0 k1 r0 r1 foreign
  for attempt in $(seq 0 "$RETRIES"); do
    wait_quiet
    : >"$pending"
    [ -n "$pid" ] && c0=$(cpu_ticks "$pid")
    m0=$(machine_ticks) o0=$(ours_ticks) k0=$(children_ticks) r0=$(kthread_ticks)
    t0=$(now)
    "$@"
    t1=$(now)
    m1=$(machine_ticks) o1=$(ours_ticks) k1=$(children_ticks) r1=$(kthread_ticks)
    foreign=$(awk -v m="$((m1 - m0))" -v o="$((o1 - o0 + k1 - k0 + r1 - r0))" -v t0="$t0" -v t1="$t1" -v hz="$clk" \
      'BEGIN{f=(m-o)/hz/(t1-t0)*100; if (f < 0) f = 0; printf "%.1f", f}')
    if [ -n "$pid" ] && [ "${metric#lat}" = "$metric" ]; then
      c1=$(cpu_ticks "$pid")
      record "$round" "$target" "cpu_$metric" "$(awk -v a="$c0" -v b="$c1" -v t0="$t0" -v t1="$t1" -v hz="$clk" 'BEGIN{printf "%.1f", (b-a)/hz/(t1-t0)*100}')"
    fi
    record "$round" "$target" "foreign_$metric" "$foreign"
    if awk -v f="$foreign" -v max="$FOREIGN_MAX" 'BEGIN{exit !(f <= max)}' || [ "$attempt" -ge "$RETRIES" ] || [ "$retries_left" -le 0 ]; then
      break
    fi
    retries_left=$((retries_left - 1))
    log "  $target $metric: other processes used $foreign % of a core meanwhile; again"
  done
  cat "$pending" >>"$results"
}

# wrk_test ROUND TARGET METRIC CONNS [HEADER]
wrk_test() {
  local round=$1 target=$2 metric=$3 conns=$4 out
  shift 4
  out=$("${ON_LOAD[@]}" timeout $((DURATION + 30)) wrk -t1 -c"$conns" -d"${DURATION}s" --timeout 5s "$@" "http://127.0.0.1:${http_port[$target]}/" 2>&1) ||
    die "$target: wrk failed: $out"
  echo "$out" >>"$work/wrk-$target.log"
  local v e
  v=$(awk '/^Requests\/sec:/{print $2}' <<<"$out")
  e=$(awk '/Socket errors:/{gsub(",",""); s=$4+$6+$8+$10} /Non-2xx/{n=$NF} END{print s+n+0}' <<<"$out")
  [ -n "$v" ] || die "$target: no Requests/sec in wrk output: $out"
  record "$round" "$target" "$metric" "$v"
  record "$round" "$target" "${metric}_errors" "$e"
}

stream_test() {
  local round=$1 target=$2 out
  out=$("${ON_LOAD[@]}" timeout $((DURATION + 30)) "$bt" stream-client -addr "127.0.0.1:${stream_port[$target]}" -conns "$STREAMS" -duration "${DURATION}s") ||
    die "$target: stream-client failed: $out"
  record "$round" "$target" gbps "$(sed -n 's/^gbps=\([0-9.]*\).*/\1/p' <<<"$out")"
}

lat_test() {
  local round=$1 target=$2 mode=$3 key=$4 out
  out=$("${ON_LOAD[@]}" timeout $((LAT_DURATION + 30)) "$bt" lat -addr "127.0.0.1:${http_port[$target]}" -mode "$mode" -duration "${LAT_DURATION}s") ||
    die "$target: lat failed: $out"
  record "$round" "$target" "lat_${key}_p50" "$(sed -n 's/.*p50_us=\([0-9.]*\).*/\1/p' <<<"$out")"
  record "$round" "$target" "lat_${key}_p99" "$(sed -n 's/.*p99_us=\([0-9.]*\).*/\1/p' <<<"$out")"
}

log "load average $load_start; $ROUNDS rounds of ${DURATION}s load tests and ${LAT_DURATION}s latency tests"
for round in $(seq "$ROUNDS"); do
  for t in golvs haproxy nginx direct; do
    log "round $round/$ROUNDS: $t"
    measure "$round" "$t" cps wrk_test "$round" "$t" cps "$CONNS_CC" -H "Connection: close"
    measure "$round" "$t" rps wrk_test "$round" "$t" rps "$CONNS_KA"
    measure "$round" "$t" gbps stream_test "$round" "$t"
    measure "$round" "$t" lat_ka lat_test "$round" "$t" keepalive ka
    measure "$round" "$t" lat_cc lat_test "$round" "$t" connect cc
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- golvs CPU profiles ---------------------------------------------------------------------------
if [ "$PROFILE" = 1 ]; then
  proxy_pid[prof]=""
  http_port[prof]=$P_PROF
  stream_port[prof]=$P_PROF_S
  for w in cps rps gbps; do
    log "profiling golvs's proxy under the $w load"
    start "golvsprof-$w" "${ON_PROXY[@]}" env GOMAXPROCS=1 "$work/bin/golvsprof" -cpuprofile "$OUT/golvs-$w.pprof" -max $((DURATION + 60))s \
      -service "127.0.0.1:$P_PROF=127.0.0.1:$P_BACKEND" -service "127.0.0.1:$P_PROF_S=127.0.0.1:$P_STREAM"
    prof_pid=$last_pid
    "$bt" wait -timeout 15s -addr "127.0.0.1:$P_PROF,127.0.0.1:$P_PROF_S" || die "golvsprof did not start"
    case $w in
      cps) wrk_test 0 prof cps "$CONNS_CC" -H "Connection: close" ;;
      rps) wrk_test 0 prof rps "$CONNS_KA" ;;
      gbps) stream_test 0 prof ;;
    esac
    kill -TERM "$prof_pid"
    wait "$prof_pid" || die "golvsprof failed: $(tail -3 "$work/golvsprof-$w.log")"
    (cd "$root" && go tool pprof -top -nodecount=40 "$work/bin/golvsprof" "$OUT/golvs-$w.pprof") >"$OUT/golvs-$w.top.txt" 2>/dev/null
    (cd "$root" && go tool pprof -top -cum -nodecount=40 "$work/bin/golvsprof" "$OUT/golvs-$w.pprof") >"$OUT/golvs-$w.cum.txt" 2>/dev/null
  done
fi

# ---- report ---------------------------------------------------------------------------------------
cpu_model=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
{
  echo "Run of \`bench/run.sh\` on $(date -u +%Y-%m-%d) (UTC): golvs built from $commit$dirty, $(haproxy -v 2>&1 | head -1 | awk '{print "HAProxy", $3}'), $(nginx -v 2>&1 | sed 's/.*nginx\//nginx /'), $(wrk -v 2>&1 | head -1 | awk '{print "wrk", $2}'), $(go version | awk '{print $3}')."
  echo
  echo "Machine: $(nproc) cores ($cpu_model), $(free -g | awk '/^Mem:/{print $2}') GiB memory, Linux $(uname -r). Load average at start $load_start, at end $load_end."
  echo
  echo "Each proxy pinned to core $PROXY_CPU (golvs GOMAXPROCS=1, HAProxy nbthread 1, nginx worker_processes 1); backend (nginx http, one worker, 23-byte static response; Go stream server) and load generators pinned to core $LOAD_CPU. $ROUNDS interleaved rounds; load tests ${DURATION} s each (wrk -t1, $CONNS_CC connections with \`Connection: close\`, $CONNS_KA kept-alive; $STREAMS parallel streams for throughput); latency ${LAT_DURATION} s each, one request at a time. Niceness $NICE."
  echo
  "$bt" report -in "$results"
} >"$OUT/report.md"
cat "$OUT/report.md"
log "report: $OUT/report.md"
