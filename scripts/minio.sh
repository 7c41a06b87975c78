#!/usr/bin/env bash
# MinIO, the S3 server the egress tests (pkg/egress/s3) run against.
#
#   scripts/minio.sh build              build MinIO once into $ENCLAVE_CACHE/bin/minio (~7 min on 2 cores)
#   scripts/minio.sh path               print the binary's path (exit 1 if not built)
#   scripts/minio.sh start DIR [PORT]   start MinIO on loopback (PORT or the first free port from
#                                       19000), data in DIR/data; writes DIR/env
#                                       (ENCLAVE_TEST_S3_* lines) and DIR/minio.pid
#   scripts/minio.sh stop DIR           stop the MinIO started with that DIR
#
# Licence: MinIO is AGPLv3. Enclave never links it or imports its packages; it is only built
# here as a separate program and run as an external test server (the client library,
# minio-go, is Apache-2.0).
#
# Why build from the module proxy: Debian has no MinIO and nothing else is reachable. MinIO
# publishes no semver tags to the proxy, so we pin the pseudo-version that @latest resolved to
# (see ../shared/COMPONENTS.md item 4) and record it next to the binary, so a version bump
# here rebuilds once and an unchanged one never does.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
cache=${ENCLAVE_CACHE:-/var/cache/enclave}
bin="$cache/bin/minio"

build() {
  if [ -x "$bin" ] && [ "$(cat "$bin.version" 2>/dev/null)" = "$MINIO_VERSION" ]; then
    echo "minio: cached at $bin"
    return
  fi
  mkdir -p "$cache/bin"
  local gobin
  gobin=$(mktemp -d /tmp/enclave-minio-build.XXXXXX)
  trap 'rm -rf "$gobin"' RETURN
  echo "minio: building $MINIO_VERSION into $bin; takes about 7 minutes once"
  local t0=$SECONDS
  # A temporary GOBIN, then a rename: an interrupted build never leaves a half-written binary
  # at $bin that the cache check above would trust.
  GOBIN="$gobin" GOFLAGS="-mod=mod -buildvcs=false" go install -trimpath "github.com/minio/minio@$MINIO_VERSION"
  mv "$gobin/minio" "$bin.tmp"
  mv "$bin.tmp" "$bin"
  echo "$MINIO_VERSION" >"$bin.version"
  echo "minio: built in $((SECONDS - t0)) s"
}

start() {
  local dir=$1 port=${2:-}
  [ -x "$bin" ] || { echo "minio: not built; run scripts/minio.sh build" >&2; return 1; }
  mkdir -p "$dir/data"
  [ -n "$port" ] || port=$(free_port "${ENCLAVE_TEST_S3_PORT:-19000}")
  # The console gets its own explicit loopback port: without --console-address MinIO opens a
  # random port on all interfaces.
  local cport
  cport=$(free_port $((port + 1)))
  # A fresh secret per start: nothing reusable is written into the repo or the cache.
  local user=enclave-test secret
  secret=$(od -An -N18 -tx1 /dev/urandom | tr -d ' \n')
  # MINIO_CI_CD lets MinIO use a directory on the root disk (it refuses otherwise in some
  # setups); MINIO_UPDATE=off keeps it from looking for updates it cannot reach.
  MINIO_ROOT_USER=$user MINIO_ROOT_PASSWORD=$secret MINIO_BROWSER=off \
    MINIO_UPDATE=off MINIO_CI_CD=1 \
    "$bin" server "$dir/data" --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$cport" \
    >"$dir/minio.log" 2>&1 &
  echo $! >"$dir/minio.pid"
  # Wait on MinIO's own health check, not on the PID (see COMPONENTS.md: exited daemons can
  # linger as zombies).
  local ok=
  for _ in $(seq 1 300); do
    if curl -fsS "http://127.0.0.1:$port/minio/health/live" >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.05
  done
  if [ -z "$ok" ]; then
    echo "minio: did not start on 127.0.0.1:$port" >&2
    cat "$dir/minio.log" >&2
    stop "$dir"
    return 1
  fi
  umask 077
  cat >"$dir/env" <<EOF
ENCLAVE_TEST_S3_ENDPOINT=127.0.0.1:$port
ENCLAVE_TEST_S3_ACCESS_KEY=$user
ENCLAVE_TEST_S3_SECRET_KEY=$secret
EOF
}

stop() {
  local dir=$1 pid
  pid=$(cat "$dir/minio.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
  # Wait (up to 10 s) until it has exited, so the caller can remove DIR: gone, or a
  # zombie the sandbox's init has not reaped yet (see COMPONENTS.md), both count.
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && break
    sleep 0.05
  done
  rm -f "$dir/minio.pid"
}

case "${1:-}" in
build) build ;;
path) [ -x "$bin" ] && echo "$bin" ;;
start) start "${2:?data dir}" "${3:-}" ;;
stop) stop "${2:?data dir}" ;;
*)
  echo "usage: $0 build|path|start DIR [PORT]|stop DIR" >&2
  exit 2
  ;;
esac
