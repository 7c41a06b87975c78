#!/usr/bin/env bash
# Installs what `make test` needs on a fresh Debian machine with Go, and nothing twice:
# Debian packages (redis-server, snakemake, cwltool), the Go tools pinned in go.mod, the
# Dex OIDC provider (scripts/dex.sh) and the MinIO S3 server (scripts/minio.sh).
# Idempotent: a second run only checks. Run as root (apt) or with the packages present.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v snakemake    >/dev/null || need_apt+=(snakemake)
command -v cwltool      >/dev/null || need_apt+=(cwltool)
command -v curl         >/dev/null || need_apt+=(curl)   # health checks of Dex and MinIO
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
# Dex, the OIDC provider of the identity tests: built once (about 4 minutes) into
# ${ENCLAVE_CACHE:-/var/cache/enclave}/bin and reused.
scripts/dex.sh build
# MinIO, the S3 server of the egress tests: built once (about 7 minutes) into the same
# cache. AGPL: only ever run as a separate test server, never linked into Enclave.
scripts/minio.sh build
# Helm, for the chart's lint and template tests: built once (about 4 minutes), same cache.
scripts/helm.sh build
# Kubernetes (kube-apiserver, controller-manager, scheduler, kwok) for the kubernetes
# executor's tests: built once (about 15 minutes), same cache.
scripts/k8s.sh build
# Funnel, the TES server of the TES executor's tests: built once (about 8 minutes), same cache.
scripts/funnel.sh build
echo "setup: ok (redis $(redis-server --version | awk '{print $3}'), snakemake $(snakemake --version), $(cwltool --version 2>/dev/null | tail -1), dex $(scripts/dex.sh path), minio $(scripts/minio.sh path))"
