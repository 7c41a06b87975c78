#!/usr/bin/env bash
# A one-node Redis Cluster on loopback, for the cluster test (internal/app TestClusterRuns):
# the node serves all 16384 hash slots, so it refuses, as every cluster does, a transaction
# or script whose keys hash to different slots (CROSSSLOT). Tests wait for cluster_state:ok.
#
#   scripts/redis-cluster.sh start DIR [PORT]   start it on PORT (or the first free port from
#                                               16495); writes DIR/env
#                                               (ENCLAVE_TEST_CLUSTER_ADDRS)
#   scripts/redis-cluster.sh stop DIR           stop it
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start() {
  local dir=$1 port=${2:-}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ -n "$port" ] || port=$(free_port "${ENCLAVE_TEST_CLUSTER_PORT:-16495}")
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
    --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
  local ok=
  for _ in $(seq 1 200); do
    if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then ok=1; break; fi
    sleep 0.02
  done
  # The node reports cluster_state:ok about 2 s after taking the slots (a new primary waits
  # before accepting writes); the tests wait for that, so starting here stays quick.
  if [ -z "$ok" ] || ! redis-cli -p "$port" cluster addslotsrange 0 16383 | grep -q OK; then
    echo "redis-cluster: the node on $port did not start or take the slots" >&2
    tail -n 20 "$dir/redis.log" >&2
    stop "$dir"
    return 1
  fi
  echo "ENCLAVE_TEST_CLUSTER_ADDRS=127.0.0.1:$port" >"$dir/env"
}

stop() {
  local dir=$1 pid
  pid=$(cat "$dir/redis.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  rm -f "$dir/redis.pid"
}

case "${1:-}" in
start) start "${2:?data dir}" "${3:-}" ;;
stop) stop "${2:?data dir}" ;;
*)
  echo "usage: $0 start DIR [PORT]|stop DIR" >&2
  exit 2
  ;;
esac
