#!/usr/bin/env bash
# Dex, the OIDC provider the identity tests run against.
#
#   scripts/dex.sh build            build dex v2.45.1 once into $ENCLAVE_CACHE/bin/dex (~4 min)
#   scripts/dex.sh path             print the binary's path (exit 1 if not built)
#   scripts/dex.sh start STATEDIR   start dex on a free loopback port with the test users;
#                                   writes STATEDIR/env (ENCLAVE_TEST_DEX_* lines) and dex.pid
#   scripts/dex.sh stop STATEDIR    stop the dex started with that STATEDIR
#
# Why a scratch module: `go install github.com/dexidp/dex/cmd/dex@vX` is refused because dex's
# go.mod has replace directives, and its modern tags are not valid versions for its module path.
# Requiring the pseudo-version of tag v2.45.1 (plus the api/v2 module it was released with) in a
# throw-away module and `go build`ing the command works (see ../shared/COMPONENTS.md item 9).
#
# Clients: wes-client (secret wes-secret, confidential) and enclave-cli (public, for the
# device flow). Test users (password "password" for all):
#   alice, bob   researchers      (group enclave-researchers)
#   carol        data controller  (group enclave-data-controllers)
#   dave         admin            (group enclave-admins)
#   erin         no group         authenticated, but holds no Enclave role (must get 403)
# Dex 2.45's static passwords take a "groups" list (storage.Password.Groups), and Dex puts it in
# the tokens' "groups" claim when the client asks for the "groups" scope.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEX_VERSION=v0.0.0-20260303133905-11d2eeb52b42 # = tag v2.45.1 (2026-03-03)
DEX_API_VERSION=v2.4.0
cache=${ENCLAVE_CACHE:-/var/cache/enclave}
bin="$cache/bin/dex"

build() {
  if [ -x "$bin" ] && [ "$(cat "$bin.version" 2>/dev/null)" = "$DEX_VERSION" ]; then
    echo "dex: cached at $bin"
    return
  fi
  mkdir -p "$cache/bin"
  local mod
  mod=$(mktemp -d /tmp/enclave-dex-build.XXXXXX)
  trap 'rm -rf "$mod"' RETURN
  cat >"$mod/go.mod" <<EOF
module enclave.local/dexbuild

go 1.25

require (
	github.com/dexidp/dex $DEX_VERSION
	github.com/dexidp/dex/api/v2 $DEX_API_VERSION
)
EOF
  printf 'package main\n' >"$mod/tools.go"
  echo "dex: building $DEX_VERSION (v2.45.1) into $bin; takes about 4 minutes once"
  local t0=$SECONDS
  (cd "$mod" && GOFLAGS=-mod=mod go build -trimpath -o "$bin.tmp" github.com/dexidp/dex/cmd/dex)
  mv "$bin.tmp" "$bin"
  echo "$DEX_VERSION" >"$bin.version"
  echo "dex: built in $((SECONDS - t0)) s"
}

start() {
  local state=$1
  [ -x "$bin" ] || { echo "dex: not built; run scripts/dex.sh build" >&2; return 1; }
  mkdir -p "$state"
  local port=${ENCLAVE_TEST_DEX_PORT:-15556} attempt
  # Another test run may take the free port we picked before dex binds it: then dex logs
  # "address already in use", and we try the next port.
  for attempt in 1 2 3 4 5; do
    port=$(free_port "$port")
    if launch "$state" "$port"; then return 0; fi
    stop "$state"
    grep -q "address already in use" "$state/dex.log" || break
    port=$((port + 1))
  done
  echo "dex: did not start (attempt $attempt)" >&2
  cat "$state/dex.log" >&2
  return 1
}

# owns_port reports whether process pid holds the listening socket of 127.0.0.1:port
# (the socket's inode in /proc/net/tcp among the process's file descriptors).
owns_port() {
  local pid=$1 inode
  inode=$(awk -v p="$(printf '0100007F:%04X' "$2")" '$2 == p && $4 == "0A" {print $10}' /proc/net/tcp)
  [ -n "$inode" ] && ls -l "/proc/$pid/fd" 2>/dev/null | grep -q "socket:\[$inode\]"
}

# launch starts dex on port and waits until this process, not some other one, serves.
launch() {
  local state=$1 port=$2 issuer="http://127.0.0.1:$2/dex"
  # bcrypt of "password", cost 10.
  local hash='$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W'
  {
    cat <<EOF
issuer: $issuer
storage:
  type: memory
web:
  http: 127.0.0.1:$port
logger:
  level: info
oauth2:
  skipApprovalScreen: true
  passwordConnector: local
  grantTypes: ["authorization_code", "refresh_token", "password", "urn:ietf:params:oauth:grant-type:device_code"]
enablePasswordDB: true
staticClients:
  - id: wes-client
    secret: wes-secret
    name: Enclave test client
    redirectURIs: ["http://127.0.0.1:18099/callback"]
  # A public client for the device flow: Dex sends confidential clients back to
  # /device/callback without the issuer's path (/dex), which does not exist.
  - id: enclave-cli
    name: Enclave CLI
    public: true
staticPasswords:
EOF
    local i=0 u g
    for u in alice:enclave-researchers bob:enclave-researchers carol:enclave-data-controllers \
      dave:enclave-admins erin:; do
      i=$((i + 1))
      g=${u#*:}
      u=${u%%:*}
      printf '  - email: "%s@example.com"\n    hash: "%s"\n    username: "%s"\n    userID: "00000000-0000-4000-8000-00000000000%d"\n' \
        "$u" "$hash" "$u" "$i"
      if [ -n "$g" ]; then printf '    groups: ["%s"]\n' "$g"; fi
    done
  } >"$state/dex.yaml"
  "$bin" serve "$state/dex.yaml" >"$state/dex.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$state/dex.pid"
  for _ in $(seq 1 200); do
    # Dead (or a zombie not yet reaped): it did not bind.
    if ! kill -0 "$pid" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ]; then
      return 1
    fi
    if owns_port "$pid" "$port" && curl -fsS "$issuer/.well-known/openid-configuration" >/dev/null 2>&1; then
      cat >"$state/env" <<EOF
ENCLAVE_TEST_DEX_ISSUER=$issuer
ENCLAVE_TEST_DEX_CLIENT_ID=wes-client
ENCLAVE_TEST_DEX_CLIENT_SECRET=wes-secret
ENCLAVE_TEST_DEX_CLI_CLIENT_ID=enclave-cli
ENCLAVE_TEST_DEX_PASSWORD=password
EOF
      return 0
    fi
    sleep 0.05
  done
  return 1
}

stop() {
  local state=$1 pid
  pid=$(cat "$state/dex.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
  rm -f "$state/dex.pid"
}

case "${1:-}" in
build) build ;;
path) [ -x "$bin" ] && echo "$bin" ;;
start) start "${2:?state dir}" ;;
stop) stop "${2:?state dir}" ;;
*)
  echo "usage: $0 build|path|start STATEDIR|stop STATEDIR" >&2
  exit 2
  ;;
esac
