#!/usr/bin/env bash
# bench/ab.sh: interleaved A/B of golvsd builds against HAProxy on the two rates of bench/run.sh
# (new connections/s with `Connection: close`, kept-alive requests/s), in the same setting: each
# proxy pinned to core PROXY_CPU (golvsd GOMAXPROCS=1, HAProxy nbthread 1), the backend (nginx http,
# one worker) and wrk pinned to core LOAD_CPU, every process at niceness NICE, all on 127.0.0.1.
#
# Usage (as root, after bench/run.sh has installed haproxy, nginx and wrk):
#   bench/ab.sh NAME=PATH/TO/golvsd [NAME=PATH/TO/golvsd ...]
# (a build's flags may follow its path, in the same argument: 'B=bin/golvsd -busy-poll 0')
#
# Each round runs, for each test, every build with HAProxy between them (A, HAProxy, B, ...), in
# the reverse order every other round; a build's ratio in a round is its rate over HAProxy's
# measured next to it (the mean of the HAProxy tests before and after it). It prints the median,
# lowest and highest ratio of each build and the CPU time per connection or request (user +
# system of the proxy process), and writes every value to OUT/ab.tsv.
#
# Environment (defaults in brackets): ROUNDS [6] DURATION [4] seconds per test  TESTS ["cps rps"]
#   CONNS_CC [32] CONNS_KA [64] PROXY_CPU [0] LOAD_CPU [1] NICE [-10] BASE_PORT [22000]
#   GOLVSADM [golvsadm beside the first golvsd] OUT [a new directory under /tmp]
#   PERF [0] 1: in round 1, `perf record -a -g` (both cores) during each test (OUT/perf-TEST-TARGET.data)
# Besides each rate: the proxy's CPU time per unit, each core's idle and softirq share, IPIs and
# context switches per 1000 units, and the TCP segments sent (all sockets, `nstat`) and pure ACKs
# received per unit.
set -euo pipefail
# shellcheck source=bench/haproxy-cfg.sh
. "$(dirname "$0")/haproxy-cfg.sh"

ROUNDS=${ROUNDS:-6}
DURATION=${DURATION:-4}
TESTS=${TESTS:-cps rps}
CONNS_CC=${CONNS_CC:-32}
CONNS_KA=${CONNS_KA:-64}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
NICE=${NICE:--10}
BASE_PORT=${BASE_PORT:-22000}
PERF=${PERF:-0}

log() { echo "[ab $(date +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }

[ $# -ge 1 ] || die "usage: bench/ab.sh NAME=GOLVSD [NAME=GOLVSD ...]"
[ "$(id -u)" = 0 ] || die "run as root"
for c in haproxy nginx wrk taskset; do command -v "$c" >/dev/null || die "$c is missing (bench/run.sh installs it)"; done
names=() bins=() flags=()
for a in "$@"; do
  names+=("${a%%=*}")
  b=${a#*=} f=""
  [ "${b#* }" != "$b" ] && f=${b#* } b=${b%% *}
  bins+=("$(cd "$(dirname "$b")" && pwd)/$(basename "$b")")
  flags+=("$f")
done
GOLVSADM=${GOLVSADM:-$(dirname "${bins[0]}")/golvsadm}
[ -x "$GOLVSADM" ] || die "no golvsadm at $GOLVSADM (set GOLVSADM)"
OUT=${OUT:-$(mktemp -d /tmp/golvs-ab.XXXXXX)}
mkdir -p "$OUT"
work=$(mktemp -d /tmp/golvs-ab-work.XXXXXX)

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ON_PROXY=(nice -n "$NICE" taskset -c "$PROXY_CPU")
ON_LOAD=(nice -n "$NICE" taskset -c "$LOAD_CPU")
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)

P_BACKEND=$((BASE_PORT + 80)) P_HAPROXY=$((BASE_PORT + 280))
cat >"$work/backend.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/backend.pid;
error_log $work/backend.err warn;
worker_rlimit_nofile $nofile;
events { worker_connections $((nofile / 2)); }
http {
  access_log off;
  client_body_temp_path $work/body;
  proxy_temp_path $work/proxy;
  fastcgi_temp_path $work/fastcgi;
  uwsgi_temp_path $work/uwsgi;
  scgi_temp_path $work/scgi;
  keepalive_requests 1000000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:$P_BACKEND backlog=4096;
    location / { default_type text/plain; return 200 "hello from the backend\n"; }
  }
}
EOF
"${ON_LOAD[@]}" nginx -c "$work/backend.conf" -e "$work/backend.err" >"$work/backend.log" 2>&1 &
pids+=($!)
haproxy_cfg "$nofile" "http:$P_HAPROXY:$P_BACKEND" >"$work/haproxy.cfg"
"${ON_PROXY[@]}" haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
pids+=($!)
declare -A port pid
port[haproxy]=$P_HAPROXY pid[haproxy]=$!
for i in "${!names[@]}"; do
  n=${names[$i]} sock=$work/golvs-$i.sock p=$((BASE_PORT + 180 + i))
  "${ON_PROXY[@]}" env GOMAXPROCS=1 "${bins[$i]}" ${flags[$i]} -demo=false -socket "$sock" >"$work/golvsd-$i.log" 2>&1 &
  pids+=($!)
  pid[$n]=$! port[$n]=$p
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
  GOLVS_SOCKET=$sock "$GOLVSADM" -A -t "127.0.0.1:$p" -s rr
  GOLVS_SOCKET=$sock "$GOLVSADM" -a -t "127.0.0.1:$p" -r "127.0.0.1:$P_BACKEND" -m
done
sleep 1
for t in haproxy "${names[@]}"; do
  curl -s -m 2 "http://127.0.0.1:${port[$t]}/" >/dev/null || die "$t does not answer"
done

ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
clk=$(getconf CLK_TCK)
tsv=$OUT/ab.tsv
echo "# round test target rate cpu_us_per_unit idle0 idle1 si0 si1 res0 res1 cal0 cal1 ctxt segs acks" >"$tsv"

# machine_stats: per core idle and softirq ticks, rescheduling and function-call IPIs received per
# core, context switches, TCP segments sent and pure ACKs received (for the per-test deltas written
# beside each rate).
machine_stats() {
  local tcp
  tcp=$(nstat -az TcpOutSegs TcpExtTCPPureAcks 2>/dev/null | awk '$1 == "TcpOutSegs" {o=$2} $1 == "TcpExtTCPPureAcks" {a=$2} END{print o + 0, a + 0}')
  awk '/^cpu0 /{i0=$5+$6; s0=$8} /^cpu1 /{i1=$5+$6; s1=$8} /^ctxt /{c=$2} END{printf "%d %d %d %d ", i0, i1, s0, s1; printf "%d\n", c}' /proc/stat |
    { read -r i0 i1 s0 s1 c; awk -v i0="$i0" -v i1="$i1" -v s0="$s0" -v s1="$s1" -v c="$c" -v tcp="$tcp" '/^ *RES:/{r0=$2; r1=$3} /^ *CAL:/{k0=$2; k1=$3} END{print i0, i1, s0, s1, r0, r1, k0, k1, c, tcp}' /proc/interrupts; }
}

# one ROUND TEST TARGET: one wrk test; appends its line to ab.tsv.
one() {
  local round=$1 test=$2 t=$3 c0 c1 out v args=(-c"$CONNS_KA")
  [ "$test" = cps ] && args=(-c"$CONNS_CC" -H "Connection: close")
  c0=$(ticks "${pid[$t]}")
  local m0 m1
  m0=$(machine_stats)
  local perf=
  if [ "$PERF" = 1 ] && [ "$round" = 1 ]; then
    perf record -q -a -g -o "$OUT/perf-$test-$t.data" -- sleep "$DURATION" 2>/dev/null &
    perf=$!
  fi
  out=$("${ON_LOAD[@]}" timeout $((DURATION + 30)) wrk -t1 -d"${DURATION}s" --timeout 5s "${args[@]}" "http://127.0.0.1:${port[$t]}/" 2>&1) ||
    die "$t: wrk failed: $out"
  c1=$(ticks "${pid[$t]}")
  m1=$(machine_stats)
  [ -n "$perf" ] && wait "$perf"
  v=$(awk '/^Requests\/sec:/{print $2}' <<<"$out")
  grep -q -e 'Socket errors' -e Non-2xx <<<"$out" && log "  $t $test: $(grep -e 'Socket errors' -e Non-2xx <<<"$out" | tr '\n' ' ')"
  # Idle and softirq in % of each core; IPIs and context switches per 1000 connections or requests.
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$test" "$t" "$v" \
    "$(awk -v c=$((c1 - c0)) -v hz="$clk" -v v="$v" -v d="$DURATION" 'BEGIN{printf "%.2f", c/hz*1e6/(v*d)}')" \
    "$(awk -v a="$m0" -v b="$m1" -v hz="$clk" -v v="$v" -v d="$DURATION" 'BEGIN{
      split(a, x, " "); split(b, y, " ")
      for (i = 1; i <= 4; i++) printf "%.1f\t", (y[i] - x[i]) / hz / d * 100
      for (i = 5; i <= 9; i++) printf "%.0f\t", (y[i] - x[i]) / (v * d) * 1000
      for (i = 10; i <= 11; i++) printf "%.2f%s", (y[i] - x[i]) / (v * d), i < 11 ? "\t" : ""}')" >>"$tsv"
}

log "builds: ${names[*]}; $ROUNDS rounds of ${DURATION}s tests ($TESTS); output $tsv"
for round in $(seq "$ROUNDS"); do
  order=("${names[@]}")
  if [ $((round % 2)) = 0 ]; then
    order=()
    for ((i = ${#names[@]} - 1; i >= 0; i--)); do order+=("${names[$i]}"); done
  fi
  for test in $TESTS; do
    seq=(haproxy)
    for n in "${order[@]}"; do seq+=("$n" haproxy); done
    for t in "${seq[@]}"; do one "$round" "$test" "$t"; done
  done
  log "round $round done"
done

# Ratios: each build against the mean of the HAProxy tests on either side of it.
awk -F'\t' -v names="${names[*]}" '
  /^#/ {next}
  { r[NR]=$1; te[NR]=$2; tg[NR]=$3; v[NR]=$4; cpu[NR]=$5; n=NR }
  function med(a, k,   i, j, t) {
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
  }
  END {
    split(names, nm, " ")
    for (x = 1; x <= n; x++) if (tg[x] != "" && tg[x] != "haproxy") {
      key = te[x] SUBSEP tg[x]; c = ++cnt[key]
      ratio[key, c] = v[x] / ((v[x - 1] + v[x + 1]) / 2)
      rate[key, c] = v[x]; cp[key, c] = cpu[x]
      ks = te[x] SUBSEP "haproxy"; hc[ks]++
      hcpu[ks, hc[ks]] = (cpu[x - 1] + cpu[x + 1]) / 2
      hrate[ks, hc[ks]] = (v[x - 1] + v[x + 1]) / 2
    }
    printf "%-4s %-12s %6s %6s %6s  %9s %9s  %8s %8s\n", "test", "build", "median", "min", "max", "rate", "haproxy", "cpu_us", "hap_us"
    for (key in cnt) {
      split(key, kk, SUBSEP); k = cnt[key]
      lo = 1e9; hi = 0
      for (i = 1; i <= k; i++) { a[i] = ratio[key, i]; if (a[i] < lo) lo = a[i]; if (a[i] > hi) hi = a[i]; b[i] = rate[key, i]; c2[i] = cp[key, i] }
      m = med(a, k); mr = med(b, k); mc = med(c2, k)
      ks = kk[1] SUBSEP "haproxy"; kh = hc[ks]
      for (i = 1; i <= kh; i++) { b[i] = hrate[ks, i]; c2[i] = hcpu[ks, i] }
      printf "%-4s %-12s %6.3f %6.3f %6.3f  %9.0f %9.0f  %8.2f %8.2f\n", kk[1], kk[2], m, lo, hi, mr, med(b, kh), mc, med(c2, kh)
    }
  }' "$tsv" | sort | tee "$OUT/summary.txt"
echo "medians per target; idle and softirq in % of each core, IPIs and context switches per 1000 units, segments sent and pure ACKs received per unit" | tee -a "$OUT/summary.txt"
awk -F'\t' '
  /^#/ {next}
  { key = $2 SUBSEP $3; c = ++cnt[key]; for (i = 4; i <= 16; i++) val[key, i, c] = $i }
  END {
    printf "%-4s %-10s %9s %7s %6s %6s %5s %5s %6s %6s %6s %6s %6s %7s %7s\n", "test", "target", "rate", "cpu_us", "idle0", "idle1", "si0", "si1", "res0", "res1", "cal0", "cal1", "ctxt", "segs", "acks"
    for (key in cnt) {
      split(key, kk, SUBSEP); k = cnt[key]
      printf "%-4s %-10s", kk[1], kk[2]
      for (i = 4; i <= 16; i++) {
        for (j = 1; j <= k; j++) a[j] = val[key, i, j] + 0
        for (p = 1; p <= k; p++) for (q = p + 1; q <= k; q++) if (a[q] < a[p]) { t = a[p]; a[p] = a[q]; a[q] = t }
        m = k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
        printf (i == 4 ? " %9.0f" : (i == 5 || i >= 15) ? " %7.2f" : " %6.1f"), m
      }
      printf "\n"
    }
  }' "$tsv" | sort | tee -a "$OUT/summary.txt"
