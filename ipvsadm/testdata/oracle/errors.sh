t ipvsadm -v
t ipvsadm --version
t ipvsadm -L -A
t ipvsadm -L -LA
t ipvsadm -n -L
t ipvsadm --lis
t ipvsadm --foo
t ipvsadm foo
t ipvsadm ""
t ipvsadm -
t ipvsadm --
t ipvsadm -L --foo
t ipvsadm -L -q
t ipvsadm -Lq
t ipvsadm -L --numeric=5
t ipvsadm -L -n=
t ipvsadm -L -n=5
t ipvsadm -L= 
t ipvsadm -A -t
t ipvsadm -A -t 10.0.0.1:80 -s
t ipvsadm -A -t 10.0.0.1:0
t ipvsadm -A -t 10.0.0.1
t ipvsadm -A -t 10.0.0.1:80 -b mh-port
t ipvsadm -A -t 10.0.0.1:80 -s sh -b mh-port
t ipvsadm -A -t 10.0.0.1:80 -s sh -b sh-port,foo
t ipvsadm -A -t 10.0.0.1:80 -s sh -b ,
t ipvsadm -A -t 10.0.0.1:80 -x 3
t ipvsadm -A -t 10.0.0.1:80 -r 10.8.0.1
t ipvsadm -A -t 10.0.0.1:80 -c
t ipvsadm -A -t 10.0.0.1:80 -n
t ipvsadm -A -s rr
t ipvsadm -A -6 -f 1
t ipvsadm -A -f 1 -6 -M 0
t ipvsadm -A -f 1 -6 -M 129
t ipvsadm -A -t 10.0.0.1:80 -M 255.255.255.0.1 -p
t ipvsadm -A -t 10.0.0.1:80 -M foo -p
t ipvsadm -A -t 10.0.0.1:80 -t 10.0.0.1:81
t ipvsadm -A -t 10.0.0.1:80 -f 3
t ipvsadm -A -t 10.0.0.1:80 -s rr -s wlc
t ipvsadm -A -t 10.0.0.1:80 -p 30 -p 40
t ipvsadm -A -t 10.0.0.1:80 -p 0
t ipvsadm -A -t 10.0.0.1:80 -p 2678401
t ipvsadm -A -t 10.0.0.1:80 -p abc
t ipvsadm -A -t 10.0.0.1:80 -p ""
t ipvsadm -A -t 10.0.0.1:84 -o
t ipvsadm -A -t 10.0.0.1:80:90
t ipvsadm -A -t 10.0.0.1:http
t ipvsadm -A -t 80
t ipvsadm -A -t [2001:db8::1]
t ipvsadm -A -t [2001:db8::1]:
t ipvsadm -A -t [2001:db8::1]x
t ipvsadm -A -t [2001:db8::1:80
t ipvsadm -A -t 10.0.0.1:65536
t ipvsadm -A -t 10.0.0.1:-1
t ipvsadm -A -t host.example:80
t ipvsadm -A -f 0
t ipvsadm -A -f -1
t ipvsadm -A -f 4294967296
t ipvsadm -A -f 12x
t ipvsadm -A -f ""
t ipvsadm -A foo -t 10.0.0.1:80
t ipvsadm -D -t 10.0.0.1:80 -s rr
t ipvsadm -D
t ipvsadm -C -n
t ipvsadm -C foo
t ipvsadm -R -n
t ipvsadm -R foo
t ipvsadm -S -c
t ipvsadm -S -t 10.0.0.1:80
t ipvsadm -Z -n
t ipvsadm -a -t 10.0.0.1:80
t ipvsadm -a -r 10.8.0.1
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.1 -s rr
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.1 -w -1
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.1 -w 2147483648
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.1 -w abc
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.1 -x -1
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.1 -y x
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.1 -m -g
t ipvsadm -a -t 10.0.0.1:80 -r [2001:db8::20]
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.1:http
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.4 -m --tun-type gue
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.4 -i --tun-type gue
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.4 -i --tun-type gre --tun-port 5
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.4 -i --tun-type gue --tun-port 6080 --tun-csum --tun-nocsum
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.4 -i --tun-type gre --tun-remcsum
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.4 -i --tun-type ipip --tun-csum
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.4 -i --tun-port 5
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.4 -i --tun-type foo
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.4 -i --tun-type gue --tun-port 0
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.4 -i --tun-info
t ipvsadm -a -f 1 -r [2001:db8::5]:80 -m
t ipvsadm -d -t 10.0.0.1:80 -r 10.8.0.1 -m
t ipvsadm -e -t 10.0.0.1:80
t ipvsadm --set 1 2
t ipvsadm --set 10 20 30 40
t ipvsadm --set 10 20 x
t ipvsadm --set 10 20 2678401
t ipvsadm --set -n 1 2 3
t ipvsadm -L --timeout --stats
t ipvsadm -L -c --timeout
t ipvsadm -L -c -t 10.0.0.1:80
t ipvsadm -L --daemon --timeout
t ipvsadm -L -c --stats
t ipvsadm -L -c --rate
t ipvsadm -L --daemon --persistent-conn
t ipvsadm -L -s rr
t ipvsadm -L -o
t ipvsadm -L -n -n
t ipvsadm -L foo
t ipvsadm --start-daemon
t ipvsadm --start-daemon foo
t ipvsadm --stop-daemon foo
t ipvsadm --start-daemon master --syncid 256
t ipvsadm --start-daemon master --mcast-group 10.0.0.1
t ipvsadm --start-daemon master --mcast-group ff02::1x
t ipvsadm --start-daemon master --mcast-group 2001:db8::1
t ipvsadm --start-daemon master --mcast-port 0
t ipvsadm --start-daemon master --mcast-ttl 256
t ipvsadm --start-daemon master --sync-maxlen 65508
t ipvsadm --start-daemon master -n
t ipvsadm --stop-daemon master --mcast-interface eth0
t ipvsadm --stop-daemon master
t ipvsadm --stop-daemon backup --syncid 3
t ipvsadm -L -h
t ipvsadm -h --bogus
t ipvsadm -D -t 10.0.0.9:80
t ipvsadm -E -t 10.0.0.9:80
t ipvsadm -Z -t 10.0.0.9:80
t ipvsadm -L -t 10.0.0.9:80
t ipvsadm -a -t 10.0.0.9:80 -r 10.8.0.1
t ipvsadm -e -t 10.0.0.9:80 -r 10.8.0.1
t ipvsadm -d -t 10.0.0.9:80 -r 10.8.0.1
t ipvsadm -A -t 10.0.0.1:80 -s abcdefghijklmnopqrstuvwxyz
t ipvsadm -A -t 10.0.0.1:80 -s nope
t ipvsadm -A -t 10.0.0.1:81 -s rr --pe nope -p
t ipvsadm -A -t 10.0.0.1:80 -s rr
t ipvsadm -A -t 10.0.0.1:80 -s rr
t ipvsadm -E -t 10.0.0.1:80 -s nope
t ipvsadm -e -t 10.0.0.1:80 -r 10.8.0.1
t ipvsadm -d -t 10.0.0.1:80 -r 10.8.0.1
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.1 -x 1 -y 5
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.1 -y 5
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.1 -m
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.1 -m
t ipvsadm -e -t 10.0.0.1:80 -r 10.8.0.1 -x 1 -y 5
t ipvsadm -a -r 10.8.0.2 -t 10.0.0.1:80 -m
t ipvsadm -d -r 10.8.0.1 -t 10.0.0.1:80
t ipvsadm -L -n
t ipvsadm -D -t 10.0.0.1:80
t ipvsadm -L -n
