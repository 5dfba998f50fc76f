#!/usr/bin/env bash
# oracle-fuzz.sh: differential testing of golvs against the kernel oracle on random scenarios.
#
# Usage: scripts/oracle-fuzz.sh FIRST_SEED COUNT
# For each seed it writes the scenario replay.Generate makes (go run ./replay/cmd/scengen SEED), plays it on
# the kernel oracle and with golvs's replay, and compares the two transcripts (golvsadm compare). Results go
# to OUT (default /tmp/golvs-oracle-fuzz): random-SEED.txt, .kernel.out, .golvs.out, .diff for each seed;
# a summary line per seed on stdout. A seed that matches can join the corpus with
#   cp OUT/random-SEED.txt replay/testdata/scenarios/NNN-random-SEED.txt
#   cp OUT/random-SEED.kernel.out replay/testdata/kernel/NNN-random-SEED.out
# Exit status: 1 when any seed differs. Run it on an idle machine (see record-oracle.sh).
set -euo pipefail

first=${1:?usage: oracle-fuzz.sh FIRST_SEED COUNT}
count=${2:?usage: oracle-fuzz.sh FIRST_SEED COUNT}
root=$(cd "$(dirname "$0")/.." && pwd)
oracle=${ORACLE_DIR:-$root/../shared/oracle}
out=${OUT:-/tmp/golvs-oracle-fuzz}
[ -x "$oracle/run.sh" ] || { echo "no oracle run.sh in $oracle (set ORACLE_DIR)" >&2; exit 2; }
mkdir -p "$out"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd "$root" && go build -o "$bin/scengen" ./replay/cmd/scengen && go build -o "$bin/golvsadm" ./cmd/golvsadm)

status=0
for seed in $(seq "$first" $((first + count - 1))); do
  n=$out/random-$seed
  "$bin/scengen" "$seed" > "$n.txt"
  if ! "$oracle/run.sh" "$n.txt" > "$n.kernel.out" || ! grep -q '^ORACLE-DONE' "$n.kernel.out"; then
    echo "seed $seed: oracle failed"; status=1; continue
  fi
  if grep -q '^ORACLE-WARN' "$n.kernel.out"; then
    echo "seed $seed: oracle warned: $(grep -m1 '^ORACLE-WARN' "$n.kernel.out")"; status=1; continue
  fi
  "$bin/golvsadm" replay "$n.txt" > "$n.golvs.out"
  if "$bin/golvsadm" compare "$n.kernel.out" "$n.golvs.out" > "$n.diff"; then
    echo "seed $seed: match"
  else
    echo "seed $seed: DIFFERS ($(wc -l < "$n.diff") lines in $n.diff)"; status=1
  fi
done
exit "$status"
