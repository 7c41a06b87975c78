#!/usr/bin/env bash
# Installs what `make test` needs on a fresh Debian machine with Go, and nothing twice:
# Debian packages (Redis, Snakemake, cwltool, wrk, SLURM, munge, sshd, dockerd, etcd, Chromium,
# Node.js, ...), the browser suite's pinned npm packages (scripts/browser.sh), the
# Go modules and the tools go.mod pins, and the test servers built from the Go module
# proxy (Dex, MinIO, Helm, Kubernetes, Funnel; see below).
# Idempotent: a second run only checks. Run as root (apt) or with the packages present.
set -euo pipefail
cd "$(dirname "$0")/.."

# The test servers built from the Go module proxy into ${ENCLAVE_CACHE:-/var/cache/enclave}
# and reused (each script rebuilds only when its pinned version changes):
#   dex     the OIDC provider of the identity tests (about 4 min alone)
#   minio   the S3 server of the egress tests (about 7 min; AGPL: only ever run as a
#           separate test server, never linked into Enclave)
#   helm    the chart's lint and template tests (about 3 min)
#   k8s     kube-apiserver, controller-manager, scheduler and kwok for the kubernetes
#           executor's tests (about 17 min)
#   funnel  the TES server of the TES executor's tests (about 8 min)
#   mailpit the SMTP server of the e-mail notification tests (about 3 min)
# On a cold machine they take most of CI's time, so they build in two lanes at once while
# apt installs the Debian packages: downloads, links and apt fill the time one lane leaves
# a core idle. Each lane logs to $ENCLAVE_CACHE/logs/; a failed lane's log is printed.
cache=${ENCLAVE_CACHE:-/var/cache/enclave}
mkdir -p "$cache/logs"
lane() { # name scripts...
  local name=$1 s
  shift
  for s in "$@"; do
    "scripts/$s.sh" build || return 1
  done >"$cache/logs/lane-$name.log" 2>&1
}
t0=$SECONDS
lane a k8s mailpit &
lane_a=$!
lane b minio funnel dex helm &
lane_b=$!
need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v snakemake    >/dev/null || need_apt+=(snakemake)
command -v cwltool      >/dev/null || need_apt+=(cwltool)
command -v curl         >/dev/null || need_apt+=(curl)   # health checks of Dex and MinIO
command -v wrk          >/dev/null || need_apt+=(wrk)    # the external load generator of make bench
# single-node SLURM + a loopback sshd for the SLURM executor's tests (scripts/slurm.sh)
[ -x /usr/sbin/slurmctld ] || need_apt+=(slurmctld)
[ -x /usr/sbin/slurmd ]    || need_apt+=(slurmd)
command -v sbatch >/dev/null || need_apt+=(slurm-client)
[ -x /usr/sbin/munged ]    || need_apt+=(munge)
[ -x /usr/sbin/sshd ]      || need_apt+=(openssh-server)
# Docker engine + a static busybox for the docker executor's tests (scripts/docker.sh)
command -v dockerd >/dev/null || need_apt+=(docker.io)
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 || need_apt+=(busybox-static)
# etcd for the Kubernetes control plane of the kubernetes executor's tests (scripts/k8s.sh)
command -v etcd >/dev/null || need_apt+=(etcd-server)
command -v openssl >/dev/null || need_apt+=(openssl)
# The browser suite (test/browser, scripts/browser.sh): Debian's Chromium driven headless by
# playwright-core under Node.js (about 120 MB and half a minute of apt on a cold machine)
[ -x /usr/lib/chromium/chromium ] || command -v chromium >/dev/null || need_apt+=(chromium)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm  >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing ${need_apt[*]}; run as root or install them with apt-get" >&2
    exit 1
  fi
  echo "setup: installing ${need_apt[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Go modules and the tools go.mod pins (oapi-codegen, staticcheck): downloaded once,
# then served from the module and build caches.
go mod download
go build -o /dev/null tool >/dev/null 2>&1 || go tool -n oapi-codegen >/dev/null
# The browser suite's npm packages (playwright-core, axe-core), pinned by its lock file and
# installed once into the cache; needs npm, hence after apt.
scripts/browser.sh build | sed 's/^/setup: /'

failed=0
for l in a b; do
  pid_var=lane_$l
  if ! wait "${!pid_var}"; then
    echo "setup: building the test servers failed (lane $l):" >&2
    cat "$cache/logs/lane-$l.log" >&2
    failed=1
  fi
done
[ "$failed" = 0 ] || exit 1
grep -h "built in\|cached at" "$cache"/logs/lane-*.log | sed 's/^/setup: /'
echo "setup: test servers ready after $((SECONDS - t0)) s"
echo "setup: ok (redis $(redis-server --version | awk '{print $3}'), snakemake $(snakemake --version), $(cwltool --version 2>/dev/null | tail -1), dex $(scripts/dex.sh path), minio $(scripts/minio.sh path))"
