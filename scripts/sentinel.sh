#!/usr/bin/env bash
# A Redis primary, one replica and three Sentinels on loopback, for the failover tests
# (internal/app TestSentinelFailover): the Sentinels watch the primary as "enclave" with a
# quorum of 2, call it down after 1 s without an answer and fail it over to the replica.
#
#   scripts/sentinel.sh start DIR [PORT]   start them on PORT (or the first free port from
#                                          16490) and the next free ports; writes DIR/env
#                                          (ENCLAVE_TEST_SENTINEL_ADDRS, a comma-separated
#                                          list, and ENCLAVE_TEST_SENTINEL_MASTER)
#   scripts/sentinel.sh stop DIR           stop every process started with that DIR
#
# Each process runs from its own config file in DIR (INFO server names it as config_file),
# so a test that kills the primary can start it again with `redis-server FILE`; the
# Sentinels then make it a replica of the new primary. The Sentinels are told about each
# other and the replica in their config files (known-sentinel, known-replica), so they
# can vote from the first second instead of after their hello messages. The Sentinel mode
# of redis-server is the program Debian's redis-sentinel package links to.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

master=enclave

ping() { redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null | grep -q PONG; }

# data_node DIR NAME PORT [PRIMARY_PORT] writes NAME.conf and starts it.
data_node() {
  local dir=$1 name=$2 port=$3 primary=${4:-}
  mkdir -p "$dir/$name"
  # Diskless sync without delay: the replica is in sync within milliseconds of starting.
  cat >"$dir/$name.conf" <<EOF
port $port
bind 127.0.0.1
daemonize yes
pidfile $dir/$name.pid
logfile $dir/$name.log
dir $dir/$name
save ""
appendonly no
repl-diskless-sync yes
repl-diskless-sync-delay 0
EOF
  [ -z "$primary" ] || echo "replicaof 127.0.0.1 $primary" >>"$dir/$name.conf"
  redis-server "$dir/$name.conf"
}

start() {
  local dir=$1 port=${2:-}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ -n "$port" ] || port=$(free_port "${ENCLAVE_TEST_SENTINEL_PORT:-16490}")
  local replica s1 s2 s3
  replica=$(free_port $((port + 1)))
  s1=$(free_port $((replica + 1)))
  s2=$(free_port $((s1 + 1)))
  s3=$(free_port $((s2 + 1)))
  data_node "$dir" primary "$port"
  data_node "$dir" replica "$replica" "$port"
  local ids=() s i
  for s in "$s1" "$s2" "$s3"; do ids+=("$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')"); done
  i=0
  for s in "$s1" "$s2" "$s3"; do
    {
      echo "port $s"
      echo "bind 127.0.0.1"
      echo "daemonize yes"
      echo "pidfile $dir/sentinel-$s.pid"
      echo "logfile $dir/sentinel-$s.log"
      echo "dir $dir"
      echo "sentinel myid ${ids[$i]}"
      echo "sentinel monitor $master 127.0.0.1 $port 2"
      echo "sentinel down-after-milliseconds $master 1000"
      echo "sentinel failover-timeout $master 3000"
      echo "sentinel parallel-syncs $master 1"
      echo "sentinel known-replica $master 127.0.0.1 $replica"
      local j=0 o
      for o in "$s1" "$s2" "$s3"; do
        [ "$o" = "$s" ] || echo "sentinel known-sentinel $master 127.0.0.1 $o ${ids[$j]}"
        j=$((j + 1))
      done
    } >"$dir/sentinel-$s.conf"
    redis-server "$dir/sentinel-$s.conf" --sentinel
    i=$((i + 1))
  done
  local ok=
  for _ in $(seq 1 200); do
    if ping "$s1" && ping "$s2" && ping "$s3" &&
      redis-cli -p "$replica" info replication 2>/dev/null | grep -q '^master_link_status:up'; then
      ok=1
      break
    fi
    sleep 0.02
  done
  if [ -z "$ok" ]; then
    echo "sentinel: the primary, replica and Sentinels did not come up" >&2
    tail -n 20 "$dir"/*.log >&2
    stop "$dir"
    return 1
  fi
  cat >"$dir/env" <<EOF
ENCLAVE_TEST_SENTINEL_ADDRS=127.0.0.1:$s1,127.0.0.1:$s2,127.0.0.1:$s3
ENCLAVE_TEST_SENTINEL_MASTER=$master
EOF
}

stop() {
  local dir=$1 f pid
  for f in "$dir"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null) || continue
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.02
    done
    rm -f "$f"
  done
}

case "${1:-}" in
start) start "${2:?data dir}" "${3:-}" ;;
stop) stop "${2:?data dir}" ;;
*)
  echo "usage: $0 start DIR [PORT]|stop DIR" >&2
  exit 2
  ;;
esac
