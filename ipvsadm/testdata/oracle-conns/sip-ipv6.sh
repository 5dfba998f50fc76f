t ipvsadm -A -u 10.0.0.1:5060 -s rr -p 30 --pe sip
t ipvsadm -a -u 10.0.0.1:5060 -r 10.8.0.1:5060 -m
t ipvsadm -a -u 10.0.0.1:5060 -r 10.8.0.2:5060 -m
addclient 10.9.0.1
t ip netns exec c udpsend 10.9.0.1 5062 10.0.0.1 5060 'INVITE sip:x@y SIP/2.0\r\nCall-ID: abc123@host\r\nVia: x\r\n\r\n'
t ip netns exec c udpsend 10.9.0.1 5063 10.0.0.1 5060 'INVITE sip:x@y SIP/2.0\r\nCall-ID: other-call-id-which-is-quite-long-xxxxxxxxxxxx\r\n\r\n'
ip -6 addr add 2001:db8::1/128 dev lo
ip -6 addr add 2001:db8:9::fe/64 dev d0
ip -6 addr add 2001:db8:8::fe/64 dev d1
ip -n c -6 addr add 2001:db8:9::1/64 dev c0
ip -n c -6 route add default via 2001:db8:9::fe
sysctl -qw net.ipv6.conf.all.forwarding=1
ip -6 neigh add 2001:db8:8::1 lladdr $rmac dev d1 nud permanent
sleep 2
t ipvsadm -A -u [2001:db8::1]:53 -s rr -p 20 -M 64
t ipvsadm -a -u [2001:db8::1]:53 -r [2001:db8:8::1]:53 -m
t ipvsadm -a -u [2001:db8::1]:53 -r 10.8.0.3:53 -i
t ipvsadm -A -t [2001:db8::1]:80 -s rr
t ipvsadm -a -t [2001:db8::1]:80 -r [2001:db8:8::1]:80 -m
t ip netns exec c udpsend 2001:db8:9::1 7000 2001:db8::1 53 'hello'
t ip netns exec c syn tcp 2001:db8:9::1 7001 2001:db8::1 80
t ipvsadm -L -n -c
t ipvsadm -L -n -c --persistent-conn
t cat /proc/net/ip_vs_conn
t ipvsadm -L -n --persistent-conn
t ipvsadm -L -c --persistent-conn
t ipvsadm -L -n
