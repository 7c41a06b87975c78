#!/usr/bin/env bash
# Mailpit, the SMTP server the e-mail notification tests (pkg/notify) deliver to over
# STARTTLS and read back through its HTTP API.
#
#   scripts/mailpit.sh build                 build Mailpit once into $ENCLAVE_CACHE/bin/mailpit
#   scripts/mailpit.sh path                  print the binary's path (exit 1 if not built)
#   scripts/mailpit.sh start DIR [PORT]      start Mailpit on loopback: SMTP on PORT (or the first
#                                            free port from 10251), its HTTP API on the next free
#                                            one; a fresh self-signed certificate in DIR/tls.*;
#                                            writes DIR/env (ENCLAVE_TEST_SMTP_* lines) and
#                                            DIR/mailpit.pid
#   scripts/mailpit.sh stop DIR              stop the Mailpit started with that DIR
#
# Licence: Mailpit is MIT. It is only built here as a separate program and run as an external
# test server.
#
# Why build from the module proxy: Debian has no Mailpit. The module zip lacks the built web UI
# (server/ui/dist, made by npm), but Mailpit embeds the whole server/ui directory, which is
# there, so `go install` builds without node: the browser UI is then empty, while the SMTP
# server and the HTTP API the tests read mail through work. The version is recorded next to
# the binary, so a version bump here rebuilds once and an unchanged one never does.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MAILPIT_VERSION=v1.33.1
cache=${ENCLAVE_CACHE:-/var/cache/enclave}
bin="$cache/bin/mailpit"

build() {
  if [ -x "$bin" ] && [ "$(cat "$bin.version" 2>/dev/null)" = "$MAILPIT_VERSION" ]; then
    echo "mailpit: cached at $bin"
    return
  fi
  mkdir -p "$cache/bin"
  local gobin
  gobin=$(mktemp -d /tmp/enclave-mailpit-build.XXXXXX)
  trap 'rm -rf "$gobin"' RETURN
  echo "mailpit: building $MAILPIT_VERSION into $bin"
  local t0=$SECONDS
  # A temporary GOBIN, then a rename: an interrupted build never leaves a half-written binary
  # at $bin that the cache check above would trust.
  GOBIN="$gobin" GOFLAGS="-mod=mod -buildvcs=false" go install -trimpath "github.com/axllent/mailpit@$MAILPIT_VERSION"
  mv "$gobin/mailpit" "$bin.tmp"
  mv "$bin.tmp" "$bin"
  echo "$MAILPIT_VERSION" >"$bin.version"
  echo "mailpit: built in $((SECONDS - t0)) s"
}

start() {
  local dir=$1 port=${2:-}
  [ -x "$bin" ] || { echo "mailpit: not built; run scripts/mailpit.sh build" >&2; return 1; }
  mkdir -p "$dir"
  [ -n "$port" ] || port=$(free_port "${ENCLAVE_TEST_SMTP_PORT:-10251}")
  local hport
  hport=$(free_port $((port + 1)))
  # A fresh self-signed certificate per start, for 127.0.0.1 and localhost: the tests trust
  # it as their CA file (notify.smtp.ca_file), so STARTTLS is verified, not skipped.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
    -keyout "$dir/tls.key" -out "$dir/tls.crt" >/dev/null 2>&1
  # --smtp-require-starttls: a client that does not upgrade is refused, so a test that
  # reads its mail back knows it went over TLS. The database lives in DIR, never shared.
  "$bin" --listen "127.0.0.1:$hport" --smtp "127.0.0.1:$port" \
    --smtp-tls-cert "$dir/tls.crt" --smtp-tls-key "$dir/tls.key" --smtp-require-starttls \
    --smtp-auth-accept-any --smtp-auth-allow-insecure=false \
    --database "$dir/mailpit.db" --disable-version-check \
    >"$dir/mailpit.log" 2>&1 &
  echo $! >"$dir/mailpit.pid"
  local ok=
  for _ in $(seq 1 300); do
    if curl -fsS "http://127.0.0.1:$hport/api/v1/info" >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.05
  done
  if [ -z "$ok" ]; then
    echo "mailpit: did not start on 127.0.0.1:$port" >&2
    cat "$dir/mailpit.log" >&2
    stop "$dir"
    return 1
  fi
  cat >"$dir/env" <<EOF
ENCLAVE_TEST_SMTP_ADDR=127.0.0.1:$port
ENCLAVE_TEST_SMTP_API=http://127.0.0.1:$hport
ENCLAVE_TEST_SMTP_CA=$dir/tls.crt
EOF
}

stop() {
  local dir=$1 pid
  pid=$(cat "$dir/mailpit.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null && break
    sleep 0.05
  done
  rm -f "$dir/mailpit.pid"
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
