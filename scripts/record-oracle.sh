#!/usr/bin/env bash
# record-oracle.sh: re-records kernel transcripts of the replay conformance corpus with the kernel-IPVS oracle.
#
# Usage: scripts/record-oracle.sh [-j N] [SCENARIO...]
#   SCENARIO  a scenario of replay/testdata/scenarios/, given as its file name, its name without ".txt",
#             its number prefix ("042") or a path. Without any, every scenario is recorded.
#   -j N      run N oracle guests at once (default 1; each guest needs one CPU core).
# Environment:
#   ORACLE_DIR   folder holding the oracle's run.sh (default: ../shared/oracle relative to the repository root);
#                its setup.sh must have been run once on this machine.
# Each transcript is written to replay/testdata/kernel/NAME.out (the exact stdout of run.sh). A transcript
# without ORACLE-DONE, or with ORACLE-WARN lines, is reported and makes the script exit non-zero.
# Record on an idle machine: the guests run under software emulation, and when the host is overloaded their
# timers fire late relative to the guest's work (the traffic tool's SYN is retransmitted after 1 s and shows
# up as an extra InPkt, short UDP timeouts expire between steps). The script warns when the load is high.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
oracle=${ORACLE_DIR:-$root/../shared/oracle}
scen_dir=$root/replay/testdata/scenarios
out_dir=$root/replay/testdata/kernel
jobs=1
if [ "${1:-}" = "-j" ]; then
  jobs=${2:?-j needs a number}
  shift 2
fi
[ -x "$oracle/run.sh" ] || { echo "no oracle run.sh in $oracle (set ORACLE_DIR)" >&2; exit 2; }
mkdir -p "$out_dir"

files=()
if [ $# -eq 0 ]; then
  files=("$scen_dir"/*.txt)
else
  for a in "$@"; do
    if [ -f "$a" ]; then files+=("$a"); continue; fi
    a=${a%.txt}
    m=("$scen_dir/$a.txt")
    [ -f "${m[0]}" ] || m=("$scen_dir/$a"-*.txt)
    [ -f "${m[0]}" ] || { echo "no scenario matches '$a'" >&2; exit 2; }
    files+=("${m[@]}")
  done
fi

record() { # record SCENARIO-FILE: runs it and checks the transcript
  local f=$1 name out tmp t0
  name=$(basename "$f" .txt)
  out=$out_dir/$name.out
  tmp=$(mktemp "$out_dir/.$name.XXXXXX")
  trap 'rm -f "$tmp"' EXIT
  t0=$(date +%s)
  # a guest occasionally fails to start on a busy machine: one retry
  if ! "$oracle/run.sh" "$f" > "$tmp" && ! "$oracle/run.sh" "$f" > "$tmp"; then
    rm -f "$tmp"; echo "FAIL $name: run.sh failed" >&2; return 1
  fi
  chmod 644 "$tmp"
  mv "$tmp" "$out"
  if ! grep -q '^ORACLE-DONE' "$out"; then echo "FAIL $name: no ORACLE-DONE" >&2; return 1; fi
  if grep -q '^ORACLE-WARN' "$out"; then echo "WARN $name: $(grep -c '^ORACLE-WARN' "$out") ORACLE-WARN line(s)" >&2; return 1; fi
  echo "ok   $name ($(( $(date +%s) - t0 )) s)"
}

cpus=$(nproc)
load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" -v c="$cpus" 'BEGIN { exit !(l > c) }'; then
  echo "warning: load average $load exceeds $cpus CPUs; transcripts may carry timing artifacts" >&2
fi

start=$(date +%s)
status=0
running=0
for f in "${files[@]}"; do
  record "$f" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
echo "recorded ${#files[@]} scenario(s) in $(( $(date +%s) - start )) s"
exit "$status"
