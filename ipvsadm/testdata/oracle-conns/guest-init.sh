#!/bin/sh
# Guest init: sets up client / director / real-server namespaces, runs /scenario, prints results, powers off.
export PATH=/sbin:/bin
ip() { /sbin/ip "$@"; }
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /run/netns /var/run/netns; mount -t tmpfs tmpfs /run
mkdir -p /run/netns
for m in ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_pe_sip ip_vs_ftp veth nf_tables nft_ct; do modprobe $m 2>/dev/null || echo "ORACLE-WARN modprobe $m failed"; done
ip link set lo up
sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 2>/dev/null
ip netns add c; ip netns add r
ip link add d0 type veth peer name c0; ip link set c0 netns c
ip link add d1 type veth peer name r0; ip link set r0 netns r
ip addr add 10.9.255.254/16 dev d0; ip link set d0 up
ip addr add 10.8.255.254/16 dev d1; ip link set d1 up
ip addr add 10.0.0.1/32 dev lo; ip addr add 10.0.0.2/32 dev lo; ip addr add 10.0.0.3/32 dev lo
ip -n c link set lo up; ip -n c link set c0 up; ip -n c addr add 10.9.0.254/16 dev c0
ip -n c route add default via 10.9.255.254
ip -n r link set lo up; ip -n r link set r0 up
ip -n r addr add 10.8.255.1/16 dev r0; ip -n r route add default via 10.8.255.254
ip route add 10.9.0.0/16 dev d0 2>/dev/null
sysctl -qw net.ipv4.conf.d0.rp_filter=0 net.ipv4.conf.d1.rp_filter=0
rmac=$(ip -n r link show r0 | awk '/link\/ether/{print $2}')
for i in $(seq 1 20); do ip neigh add 10.8.0.$i lladdr $rmac dev d1 nud permanent; done
addclient() { ip -n c addr add $1/32 dev c0 2>/dev/null; }
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
