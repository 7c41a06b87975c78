#!/usr/bin/env bash
# Installs the workflow engines `make run` demonstrates, Snakemake and cwltool (Debian
# packages, as scripts/setup.sh installs them), when they are missing, and nothing else.
# Idempotent: with both on PATH it only says so. As root it installs them with apt-get;
# otherwise it says what to install and carries on (exit 0): the server still starts, and
# offers only the engines it finds (service-info, the catalogue).
set -euo pipefail

need=()
for e in snakemake cwltool; do
  command -v "$e" >/dev/null || need+=("$e")
done
if [ ${#need[@]} -eq 0 ]; then
  echo "engines: snakemake and cwltool are installed"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  cat >&2 <<EOF
engines: ${need[*]} not installed, so the README's example runs will be refused
engines: install them as root with: apt-get install ${need[*]}   (or run: sudo make run)
engines: starting the server anyway; it offers only the engines it finds
EOF
  exit 0
fi
echo "engines: installing ${need[*]} from Debian (a few minutes the first time)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
for e in "${need[@]}"; do
  command -v "$e" >/dev/null || { echo "engines: $e is still missing after apt-get install" >&2; exit 1; }
done
echo "engines: installed ${need[*]}"
