#!/usr/bin/env bash
# Runs a command with the real services tests need started on loopback, and stops them
# afterwards: a Redis server on its own port and data dir. Exports their addresses
# (ENCLAVE_TEST_REDIS_ADDR) to the command.
set -euo pipefail
state=$(mktemp -d /tmp/enclave-test.XXXXXX)
port=${ENCLAVE_TEST_REDIS_PORT:-16479}
while (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$((port+1)); done
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$state" \
  --daemonize yes --pidfile "$state/redis.pid" --logfile "$state/redis.log"
cleanup() {
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
  sleep 0.05
done
redis-cli -p "$port" ping | grep -q PONG || { echo "redis did not start" >&2; cat "$state/redis.log" >&2; exit 1; }
export ENCLAVE_TEST_REDIS_ADDR="127.0.0.1:$port"
echo "test-services: redis on $ENCLAVE_TEST_REDIS_ADDR"
"$@"
