t ipvsadm -A -s '!#:+' -t 10.0.0.1:80 rr
t ipvsadm -A -t 10.0.0.1:80 -s '!#:+' rr
t ipvsadm -A -t 10.0.0.1:81 -s 'r!#:+' r -p '!#:+' 30
t ipvsadm -A -t 10.0.0.1:82 -s '!#:+!#:+' rr
t ipvsadm -A -t 10.0.0.1:83 -s rr -- -p
t ipvsadm -A -t 10.0.0.1:84 -- -s rr
t ipvsadm -A -t10.0.0.1:85 -srr -p40
t ipvsadm -A -t 10.0.0.1:86 -ps
t ipvsadm -A -t 10.0.0.1:87 -p -
t ipvsadm -A -t 10.0.0.1:88 -p 10 -
t ipvsadm -A -t 10.0.0.1:89 -p=
t ipvsadm -A -u 10.0.0.1:90 -op
t ipvsadm -A -u 10.0.0.1:91 -po
t ipvsadm -A --udp-service 10.0.0.1:92 --ops --persistent=
t ipvsadm -A -f 12 --ipv6 -s rr
t ipvsadm -A -f ' 13' -s rr
t ipvsadm -A -f +14 -s rr
t ipvsadm -A -t '10.0.0.1 :93' -s rr
t ipvsadm -A -t 10.0.0.1:' 94' -s rr
t ipvsadm -A -t 10.0.0.1:+95 -s rr
t ipvsadm -A -t 10.0.0.1: -s rr
t ipvsadm -A -t 10.0.0.1:0x60 -s rr
t ipvsadm -A -t ::1 -s rr -p
t ipvsadm -A -t 2001:db8::5:80 -s rr -p
t ipvsadm -A -t '[1.2.3.4]:80' -s rr
t ipvsadm -A -t '[2001:db8::6]:97' -s rr -M 48 -p
t ipvsadm -A -t 10.0.0.1:98 -s rr -p -M 255.0.255.0
t ipvsadm -A -t 10.0.0.1:99 -M 0.0.0.0 -p
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.1:0 -m
t ipvsadm -a -t 10.0.0.1:80 -r '10.8.0.2 z:81' -m
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.3 -w +5 -x ' 7' -m
t ipvsadm -a -t 10.0.0.1:80 -r 10.8.0.4 -i -w 0
t ipvsadm -e -t 10.0.0.1:80 -r 10.8.0.4 -m
t ipvsadm -L -n
t ipvsadm -L -n --stats --rate
t ipvsadm -S -n
t ipvsadm -L -n -c -X --nosort --tun-info --sort
t ipvsadm -L -n --tun-info --persistent-conn
t ipvsadm -L -n -t 10.0.0.1:80 --thresholds --exact
t ipvsadm --set=1 2 3
t ipvsadm --zero --tcp-service 10.0.0.1:80
t ipvsadm --delete-server --tcp-service 10.0.0.1:80 --real-server 10.8.0.3
t ipvsadm --edit-server -t 10.0.0.1:80 --real-server=10.8.0.2:81 --masquerading --weight=9 --u-threshold 5 --l-threshold=2
t ipvsadm --list --numeric --thresholds
t ipvsadm --clear
t ipvsadm --list
