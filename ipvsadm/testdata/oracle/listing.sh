t ipvsadm -A -t 10.0.0.1:80 -s wlc -p 30 -M 255.255.255.0
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.1:80 -m -w 1
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.2:80 -m -w 3 -x 100 -y 50
t ipvsadm -A -u 10.0.0.2:53 -s rr
t ipvsadm -a -u 10.0.0.2:53 -r 10.8.0.3 -m
t ipvsadm -A -f 3 -s sh -b sh-port -p 60
t ipvsadm -a -f 3 -r 10.8.0.4:0 -m
t ipvsadm -A -t 200.0.0.1:80 -s rr
t ipvsadm -a -t 200.0.0.1:80 -r 10.8.0.1 -m
t ipvsadm -a -t 200.0.0.1:80 -r 192.168.1.1 -m -w 70000
t ipvsadm -a -t 200.0.0.1:80 -r 10.8.0.2 -i --tun-type gue --tun-port 6080 --tun-csum
t ipvsadm -a -t 200.0.0.1:80 -r 10.8.0.3 -i --tun-type gre
t ipvsadm -a -t 200.0.0.1:80 -r 10.8.0.5:8080 -i --tun-type gue --tun-port 5555 --tun-remcsum -w 0
t ipvsadm -a -t 200.0.0.1:80 -r 10.8.0.6 -g -w 2
t ipvsadm -A -t 10.0.0.1:83 -s sh -b flag-3
t ipvsadm -A -t 10.0.0.1:89 -s rr -b flag-3,flag-1
t ipvsadm -A -t 10.0.0.3:0 -s mh -b mh-port -p 100 -M 255.255.0.0
t ipvsadm -A -t [2001:db8::1]:80 -s rr -p 60 -M 64
t ipvsadm -a -t [2001:db8::1]:80 -r [2001:db8::9]:8080 -m
t ipvsadm -a -t [2001:db8::1]:80 -r 2001:db8::a -m
t ipvsadm -a -t [2001:db8::1]:80 -r 10.8.0.5 -i
t ipvsadm -A -t [2001:db8::2]:80 -s wlc -p 60 -M 64
t ipvsadm -A -u [::ffff:10.0.0.7]:53 -s rr
t ipvsadm -A -u [::10.0.0.8]:53 -s rr
t ipvsadm -A -u [fe80::1:0:0:1]:53 -s rr
t ipvsadm -A -u [1:0:0:2::3]:53 -s rr
t ipvsadm -A -u 10.0.0.1:84 -o -s sh -b sh-fallback,sh-port
t ipvsadm -A -A
t ipvsadm -A -t "10.0.0.1 x:86"
t ipvsadm -A -t=10.0.0.1:87 -s=rr
t ipvsadm -A --tcp-service=10.0.0.1:88 --scheduler rr -p=20
t ipvsadm -A -u 10.0.0.1:5060 -s rr --pe sip
t ipvsadm -A -u 10.0.0.2:5060 -s rr --pe sip -p 30
t ipvsadm -A --sctp-service 10.0.0.1:3868 -s lc
t ipvsadm -A -t 10.0.0.2:8080 -s wrr -p
t ipvsadm -A -t 10.1 -p 10 -M 0xffff0000
t ipvsadm -A -t 0x0a000102:81 -s rr
t ipvsadm -A -t 012.0.1.3:82 -s rr
t ipvsadm -A -t 10.0.1.4:+83 -s rr
t ipvsadm -A -t "[10.0.1.5:9]:80" -s rr
t ipvsadm -A -t 10.0.1.6:0 -p 5 -M 64
t ipvsadm -A -Mffffff -t 10.0.1.7 -p
t ipvsadm -A -M 64 -t [2001:db8::3]:80 -p
t ipvsadm -A -t [2001:db8::4]:80 -p 1 -M "64abc"
t ipvsadm -A -f 2147483649 -s rr
t ipvsadm -a -f 2147483649 -r 10.8.0.7:7 -m -x 5
t ipvsadm -A -f 9 -6 -s rr -p 30 -M 96
t ipvsadm -a -f 9 -6 -r [2001:db8::7]:0 -m
t ipvsadm -a -f 9 -r [2001:db8::8]:0 -6 -m
t ipvsadm -A -f 10 -6 -o -s rr
t ipvsadm -A -f 11 -M 96 -6 -s rr -p 30
t ipvsadm -L -n --nosort
t ipvsadm -L -n
t ipvsadm -L
t ipvsadm -l -n --stats
t ipvsadm -L -n --stats --exact
t ipvsadm -L -n --rate
t ipvsadm -L -n --rate -X
t ipvsadm -L -n --thresholds
t ipvsadm -L -n --persistent-conn
t ipvsadm -L -n --tun-info
t ipvsadm -L -n --stats --rate --thresholds
t ipvsadm -L -n --thresholds --persistent-conn --tun-info
t ipvsadm -L -n --sort
t ipvsadm -S
t ipvsadm -S -n
t ipvsadm -L -n -t 200.0.0.1:80
t ipvsadm -L -n -t 200.0.0.1:80 --stats
t ipvsadm -L -n -t 200.0.0.1:80 --tun-info
t ipvsadm -L -n -f 2147483649
t ipvsadm -L -n -f 9 -6
t ipvsadm -L -n -f 9
t ipvsadm -L -u [::ffff:10.0.0.7]:53
t ipvsadm -L --timeout
t ipvsadm --set 10 0 30
t ipvsadm -L --timeout
t ipvsadm -L --daemon
t ipvsadm -L -c
t ipvsadm -L -n -c --persistent-conn
t ipvsadm -Z
t ipvsadm -Z -t 0.0.0.0:0
t ipvsadm -Z -f 3
t ipvsadm -E -t 10.0.0.1:80
t ipvsadm -e -t 200.0.0.1:80 -r 10.8.0.1
t ipvsadm -d -t 200.0.0.1:80 -r 192.168.1.1:80
t ipvsadm -d -u [::ffff:10.0.0.7]:53
t ipvsadm -D -u [::ffff:10.0.0.7]:53
t ipvsadm -L -n --nosort
t ipvsadm -L -n
t ipvsadm -C
t ipvsadm -L -n --nosort
t ipvsadm -L -n
t ipvsadm
