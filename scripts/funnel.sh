#!/usr/bin/env bash
# Funnel, the GA4GH TES server the TES executor's tests run against.
#
#   scripts/funnel.sh build            build Funnel v0.12.2 once into $ENCLAVE_CACHE/bin/funnel (~8 min on 2 cores)
#   scripts/funnel.sh path             print the binary's path (exit 1 if not built)
#   scripts/funnel.sh start DIR        start a Funnel server on loopback (free ports from 18765/19765),
#                                      its tasks run as containers on $ENCLAVE_TEST_DOCKER_HOST (required,
#                                      from scripts/docker.sh) with $ENCLAVE_TEST_DOCKER_IMAGE; state in DIR;
#                                      writes DIR/env: ENCLAVE_TEST_TES_URL (base URL of the TES API),
#                                      ENCLAVE_TEST_TES_IMAGE, ENCLAVE_TEST_TES_SHARED_DIR (the only directory
#                                      Funnel's file:// storage may read and write: tests put work dirs there),
#                                      ENCLAVE_TEST_TES_WORK_DIR (Funnel's Worker.WorkDir: a running task's
#                                      container path P is the host's ENCLAVE_TEST_TES_WORK_DIR/<task id>/P)
#   scripts/funnel.sh stop DIR         stop the server started with that DIR
#
# Why a scratch module: the proxy refuses `go install github.com/ohsu-comp-bio/funnel@v0.12.2`
# (its deprecation lookup answers 403), but requiring v0.12.2 from a throw-away module and
# `go build`ing it works (../shared/COMPONENTS.md item 5).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FUNNEL_VERSION=v0.12.2
cache=${ENCLAVE_CACHE:-/var/cache/enclave}
bin="$cache/bin/funnel"

build() {
  if [ -x "$bin" ] && [ "$(cat "$bin.version" 2>/dev/null)" = "$FUNNEL_VERSION" ]; then
    echo "funnel: cached at $bin"
    return
  fi
  mkdir -p "$cache/bin"
  local mod t0=$SECONDS
  mod=$(mktemp -d /tmp/enclave-funnel-build.XXXXXX)
  trap 'rm -rf "$mod"' RETURN
  printf 'module enclave.local/funnelbuild\n\ngo 1.26\n\nrequire github.com/ohsu-comp-bio/funnel %s\n' "$FUNNEL_VERSION" >"$mod/go.mod"
  echo "funnel: building $FUNNEL_VERSION into $bin; takes about 8 minutes once"
  (cd "$mod" && GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath -ldflags "-s -w" -o "$bin.tmp" github.com/ohsu-comp-bio/funnel)
  mv "$bin.tmp" "$bin"
  echo "$FUNNEL_VERSION" >"$bin.version"
  echo "funnel: built in $((SECONDS - t0)) s"
}

# default_config prints the path of Funnel's own full default config of $FUNNEL_VERSION, from
# the module cache (build() filled it; downloaded again if the cache was cleaned).
default_config() {
  local modcache f
  modcache=$(go env GOMODCACHE)
  f="$modcache/github.com/ohsu-comp-bio/funnel@$FUNNEL_VERSION/config/default-config.yaml"
  if [ ! -f "$f" ]; then
    (cd / && GOFLAGS=-mod=mod go mod download "github.com/ohsu-comp-bio/funnel@$FUNNEL_VERSION" >/dev/null)
  fi
  echo "$f"
}

# edit replaces the line of $cfg that is exactly $1 by $2, and fails unless exactly one line
# is: a Funnel version whose default config differs is noticed here, not in a test.
edit() {
  local n
  n=$(grep -cFx -- "$1" "$cfg" || true)
  [ "$n" = 1 ] || { echo "funnel: default config: expected one line '$1', found $n" >&2; return 1; }
  OLD=$1 NEW=$2 awk '$0 == ENVIRON["OLD"] { print ENVIRON["NEW"]; next } { print }' "$cfg" >"$cfg.tmp"
  mv "$cfg.tmp" "$cfg"
}

start() {
  local dir=$1
  [ -x "$bin" ] || { echo "funnel: not built; run scripts/funnel.sh build" >&2; return 1; }
  [ -n "${ENCLAVE_TEST_DOCKER_HOST:-}" ] || { echo "funnel: ENCLAVE_TEST_DOCKER_HOST is unset (start scripts/docker.sh first)" >&2; return 1; }
  local image=${ENCLAVE_TEST_DOCKER_IMAGE:-local/enclave-busybox:2}
  mkdir -p "$dir/work" "$dir/shared"
  chmod 0777 "$dir/shared"
  local http rpc
  http=$(free_port "${ENCLAVE_TEST_TES_PORT:-18765}")
  rpc=$(free_port 19765)
  # Funnel reads its config into an empty config: whatever the file leaves out is zero (a
  # missing Worker.PollingRate panics the first task). So: Funnel's full default config, with
  # a few lines edited, each checked to exist exactly once.
  local cfg="$dir/funnel.yaml"
  cp "$(default_config)" "$cfg"
  chmod 0644 "$cfg"
  edit '  HostName: localhost' '  HostName: 127.0.0.1'
  edit '  HTTPPort: "8000"' "  HTTPPort: \"$http\""
  edit '  RPCPort: "9090"' "  RPCPort: \"$rpc\""
  edit '  ServerAddress: localhost:9090' "  ServerAddress: 127.0.0.1:$rpc"
  edit '  WorkDir: ./funnel-work-dir' "  WorkDir: $dir/work"
  edit '  PollingRate: 5s' '  PollingRate: 1s'
  edit '  LogUpdateRate: 5s' '  LogUpdateRate: 1s'
  edit '  Path: ./funnel-work-dir/funnel.db' "  Path: $dir/funnel.db"
  edit '    - ./' "    - $dir/shared"
  # The test dockerd has no bridge (containers get --network none) and no registry (never
  # pull: inspecting the image fails the task clearly when it is missing).
  edit '      run -i --read-only' '      run -i --read-only --network none'
  edit '    PullCommand: pull {{.Image}}' '    PullCommand: image inspect {{.Image}}'
  DOCKER_HOST=$ENCLAVE_TEST_DOCKER_HOST "$bin" server run --config "$cfg" </dev/null >"$dir/funnel.log" 2>&1 &
  echo $! >"$dir/funnel.pid"
  local url="http://127.0.0.1:$http/ga4gh/tes/v1" ok=
  for _ in $(seq 1 300); do
    if curl -fsS "$url/service-info" >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.05
  done
  if [ -z "$ok" ]; then
    echo "funnel: did not start on 127.0.0.1:$http" >&2
    tail -30 "$dir/funnel.log" >&2
    stop "$dir"
    return 1
  fi
  cat >"$dir/env" <<EOF
ENCLAVE_TEST_TES_URL=$url
ENCLAVE_TEST_TES_IMAGE=$image
ENCLAVE_TEST_TES_SHARED_DIR=$dir/shared
ENCLAVE_TEST_TES_WORK_DIR=$dir/work
EOF
  echo "funnel: TES on $url (tasks on $ENCLAVE_TEST_DOCKER_HOST)" >&2
}

stop() {
  local dir=$1 pid
  pid=$(cat "$dir/funnel.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
  # Wait (up to 10 s): gone, or a zombie the sandbox's init has not reaped yet.
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && break
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/funnel.pid"
}

case "${1:-}" in
build) build ;;
path) [ -x "$bin" ] && echo "$bin" ;;
start) start "${2:?usage: funnel.sh start DIR}" ;;
stop) stop "${2:?usage: funnel.sh stop DIR}" ;;
*)
  echo "usage: $0 build|path|start DIR|stop DIR" >&2
  exit 2
  ;;
esac
