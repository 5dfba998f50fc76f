#!/bin/sh
export PATH=/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /run; mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp
for m in ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_pe_sip ip_vs_ftp veth; do modprobe $m 2>/dev/null; done
ip link set lo up
ip link add d1 type dummy 2>/dev/null
ip addr add 10.0.0.1/32 dev lo; ip addr add 10.0.0.2/32 dev lo; ip addr add 10.0.0.3/32 dev lo
ip link add d0 type veth peer name c0; ip link set d0 up; ip link set c0 up
ip addr add 10.8.255.254/16 dev d0
ip -6 addr add 2001:db8::fe/64 dev d0 2>/dev/null
ip -6 addr add 2001:db8::1/128 dev lo 2>/dev/null
ip route add default dev d0 2>/dev/null
ip -6 route add default dev d0 2>/dev/null
t() {
  echo "@@CMD $*"
  for a in "$@"; do echo "@@A|$a|"; done
  "$@" </dev/null >/tmp/o 2>/tmp/e; rc=$?
  sed 's/^/@@O|/; s/$/|/' /tmp/o
  sed 's/^/@@E|/; s/$/|/' /tmp/e
  echo "@@RC $rc"
}
ti() {
  cat > /tmp/in
  echo "@@CMD $*"
  for a in "$@"; do echo "@@A|$a|"; done
  echo "@@IX|$(od -An -tx1 -v /tmp/in | tr -d ' \n')|"
  "$@" </tmp/in >/tmp/o 2>/tmp/e; rc=$?
  sed 's/^/@@O|/; s/$/|/' /tmp/o
  sed 's/^/@@E|/; s/$/|/' /tmp/e
  echo "@@RC $rc"
}
. /scenario
echo "@@DONE"
poweroff -f
