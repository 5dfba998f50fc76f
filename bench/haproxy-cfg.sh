# Sourced by bench/run.sh and bench/ab.sh: the HAProxy both measure against.
#
# haproxy_cfg NOFILE NAME:PORT:BACKEND_PORT...
# prints an HAProxy configuration in mode tcp with one thread (the same CPU budget as golvsd with
# GOMAXPROCS=1), half of NOFILE descriptors as its connection limit, and one listener NAME on
# 127.0.0.1:PORT to 127.0.0.1:BACKEND_PORT for each argument.
haproxy_cfg() {
  local nofile=$1 l name rest
  shift
  printf 'global\n  nbthread 1\n  maxconn %d\n' $(((nofile - 100) / 2))
  printf 'defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 120s\n  timeout server 120s\n'
  for l in "$@"; do
    name=${l%%:*} rest=${l#*:}
    printf 'listen %s\n  bind 127.0.0.1:%s\n  server backend 127.0.0.1:%s\n' "$name" "${rest%%:*}" "${rest#*:}"
  done
}
