#!/usr/bin/env bash
# run.sh SCENARIO: records an ipvsadm transcript on the kernel-IPVS oracle
# (shared/oracle; run its setup.sh once). Like the oracle's own run.sh, but
# the guest runs guest-init.sh, which prints each command's arguments,
# standard input (hex), standard output and error lines and exit status:
#   t ipvsadm ARGS...          run with no standard input
#   ... | ti ipvsadm -R        run with the given standard input
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${ORACLE_CACHE:-$HOME/.cache/ipvs-oracle}
[ -f "$cache/base.cpio.gz" ] || { echo "run the oracle's setup.sh first" >&2; exit 2; }
scen=$(readlink -f "$1")
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
mkdir -p "$t/r"; cp "$scen" "$t/r/scenario"; cp "$here/guest-init.sh" "$t/r/init"; chmod +x "$t/r/init"
(cd "$t/r" && printf 'scenario\ninit\n' | cpio -o -H newc --quiet | gzip -1) > "$t/s.cpio.gz"
cat "$cache/base.cpio.gz" "$t/s.cpio.gz" > "$t/all.cpio.gz"
timeout 300 qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic -no-reboot -nic none \
  -kernel "$cache/vmlinuz" -initrd "$t/all.cpio.gz" \
  -append "console=ttyS0 quiet panic=-1 rdinit=/init" 2>&1 | tr -d '\r' |
  sed 's/\x1bc/\n/g; s/\x1b\[[0-9;?]*[A-Za-z]//g; s/\(.\)@@/\1\n@@/g' | grep -a '^@@'
