printf '' | ti ipvsadm -R
printf -- '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.8.0.1:80 -m -w 2\n\n   \n\t-a\t-t 10.0.0.1:80  -r 10.8.0.2:80 -m\r\nipvsadm -A -u 10.0.0.2:53 -s wlc\nipvsadm\n-L -n\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.8.0.3 -m\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.3:80 -s rr\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.4:80 -s rr\n-A -t 10.0.0.4:80 -s rr\n-L -n -t 10.0.0.4:80\n' | ti ipvsadm -R
printf -- '-L --foo\n-A -t 10.0.0.5:80 -s rr\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.5:81 -s rr\n-L --foo\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.6:80 -s rr\n-A -t 10.0.0.6:0\n-A -t 10.0.0.6:81 -s rr\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.7:80 -s rr\n-R\n-A -t 10.0.0.7:81 -s rr\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.8:80 -s rr\n# a comment\n-A -t 10.0.0.8:81 -s rr\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.8:82 -s rr # trailing comment\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.9:80 -s rr\n-h\n-A -t 10.0.0.9:81 -s rr\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.9:82 -s rr\n-v\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.9:83 -s rr\n-L -n -t 10.0.0.9:99\n-A -t 10.0.0.9:84 -s rr\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.10:80 -s rr' | ti ipvsadm -R
printf -- '-A -t 10.0.0.10:81 -s rr  ' | ti ipvsadm -R
printf -- '-A -t 10.0.0.10:82 -s rr\n-A -t 10.0.0.10:83 -s rr \t' | ti ipvsadm -R
printf -- '-A -t 10.0.0.10:84 -s r\000r\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.10:85 ipvsadm -s rr\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.10:86 -s ipvsadm\n' | ti ipvsadm -R
printf -- '-A\v-t 10.0.0.10:87\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.10:88 -s rr\n-S -n\n--set 1 2 3\n-L --timeout\n-Z\n-L -n -c\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.11:80 -s rr\n-e -t 10.0.0.11:80 -r 10.8.0.1\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.11:81 -s rr\n-e -t 10.0.0.11:80 -r 10.8.0.1\n\n\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.11:82 -s rr\n-e -t 10.0.0.11:80 -r 10.8.0.1\nipvsadm\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.12:80 -b ,\n-A -t 10.0.0.12:81\n' | ti ipvsadm -R
printf -- '-A -t 10.0.0.13:80 -s sh -b flag-3\n' | ti ipvsadm -R
t ipvsadm -S -n
t ipvsadm -S -n -x
t ipvsadm -C
printf -- '-A -t 10.0.0.13:80 -s sh -b \n' | ti ipvsadm -R
t ipvsadm -L -n
