#!/usr/bin/env bash
# The browser test suite's tools (test/browser): Debian's Chromium, Node.js and the npm
# packages pinned in test/browser/package-lock.json (playwright-core, axe-core).
#
#   scripts/browser.sh build      npm ci the pinned packages once into
#                                 $ENCLAVE_CACHE/browser/<sha256 of the lock file>/node_modules
#                                 (a few seconds; a warm run only checks)
#   scripts/browser.sh path       print that node_modules dir (exit 1 if not built)
#   scripts/browser.sh chromium   print the Chromium binary playwright-core drives (exit 1 if none)
#
# Chromium, node and npm come from Debian (scripts/setup.sh installs chromium, nodejs and npm
# when missing). playwright-core never downloads a browser: the specs launch the system
# Chromium through executablePath, so the only thing fetched here is two npm packages. The
# cache dir is keyed by the lock file's hash: a version bump installs once beside the old one
# (which is then removed), an unchanged lock never reinstalls.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
lock="$root/test/browser/package-lock.json"
cache=${ENCLAVE_CACHE:-/var/cache/enclave}/browser

key() { sha256sum "$lock" | cut -c1-16; }

build() {
  local dir
  dir="$cache/$(key)"
  if [ -f "$dir/.complete" ]; then
    echo "browser: npm packages cached at $dir/node_modules"
    return
  fi
  command -v npm >/dev/null || { echo "browser: npm is missing (scripts/setup.sh installs nodejs and npm)" >&2; return 1; }
  mkdir -p "$cache"
  local tmp t0=$SECONDS
  tmp=$(mktemp -d "$cache/.build.XXXXXX")
  trap 'rm -rf "$tmp"' RETURN
  cp "$root/test/browser/package.json" "$lock" "$tmp/"
  # --ignore-scripts: nothing the packages ship runs here; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD
  # too, in case a future playwright-core grows an install step.
  (cd "$tmp" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  # A complete install is renamed into place, so an interrupted one is never trusted.
  touch "$tmp/.complete"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  # Installs for other lock files are stale.
  find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$(key)" ! -name '.build.*' -exec rm -rf {} +
  echo "browser: npm packages built in $((SECONDS - t0)) s at $dir/node_modules"
}

path() {
  local dir
  dir="$cache/$(key)"
  if [ ! -f "$dir/.complete" ]; then
    echo "browser: npm packages for this lock file not installed; run scripts/browser.sh build" >&2
    return 1
  fi
  echo "$dir/node_modules"
}

# chromium prints the real browser binary: Debian's /usr/bin/chromium is a shell wrapper that
# adds flags of its own, so the binary behind it is preferred when present.
chromium() {
  local c
  for c in /usr/lib/chromium/chromium "$(command -v chromium || true)" "$(command -v chromium-browser || true)"; do
    if [ -n "$c" ] && [ -x "$c" ]; then
      echo "$c"
      return
    fi
  done
  echo "browser: no Chromium (scripts/setup.sh installs Debian's chromium)" >&2
  return 1
}

case "${1:-}" in
build) build ;;
path) path ;;
chromium) chromium ;;
*)
  echo "usage: $0 build|path|chromium" >&2
  exit 2
  ;;
esac
