#!/usr/bin/env bash
# Funnel, the GA4GH TES server the TES executor's tests run against.
#
#   scripts/funnel.sh build            build Funnel v0.12.2 once into $ENCLAVE_CACHE/bin/funnel (~8 min on 2 cores)
#   scripts/funnel.sh path             print the binary's path (exit 1 if not built)
#
# Why a scratch module: the proxy refuses `go install github.com/ohsu-comp-bio/funnel@v0.12.2`
# (its deprecation lookup answers 403), but requiring v0.12.2 from a throw-away module and
# `go build`ing it works (../shared/COMPONENTS.md item 5).
set -euo pipefail

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

case "${1:-}" in
build) build ;;
path) [ -x "$bin" ] && echo "$bin" ;;
*)
  echo "usage: $0 build|path" >&2
  exit 2
  ;;
esac
