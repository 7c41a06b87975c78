#!/usr/bin/env bash
# Runs a command with the real services tests need started on loopback, and stops them
# afterwards: a Redis server on its own port and data dir, the Dex OIDC provider
# (built once by scripts/dex.sh build) with the test users, and a MinIO S3 server (built
# once by scripts/minio.sh build). Exports their addresses (ENCLAVE_TEST_REDIS_ADDR,
# ENCLAVE_TEST_DEX_ISSUER and the other ENCLAVE_TEST_DEX_*, ENCLAVE_TEST_S3_ENDPOINT,
# ENCLAVE_TEST_S3_ACCESS_KEY, ENCLAVE_TEST_S3_SECRET_KEY) to the command. Without a Dex or
# MinIO binary the tests needing it skip, or fail under CI=true. Mailpit (scripts/mailpit.sh),
# the SMTP server of the e-mail tests, exports ENCLAVE_TEST_SMTP_ADDR, _API and _CA (its
# certificate); without its binary those tests skip, or fail under CI=true. scripts/sentinel.sh
# starts a Redis primary, a replica and three Sentinels for the failover test and exports
# ENCLAVE_TEST_SENTINEL_ADDRS and ENCLAVE_TEST_SENTINEL_MASTER; scripts/redis-cluster.sh a
# one-node Redis Cluster for the cluster tests (ENCLAVE_TEST_CLUSTER_ADDRS).
set -euo pipefail
state=$(mktemp -d /tmp/enclave-test.XXXXXX)
port=${ENCLAVE_TEST_REDIS_PORT:-16479}
while (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$((port+1)); done
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$state" \
  --daemonize yes --pidfile "$state/redis.pid" --logfile "$state/redis.log"
dex="$(dirname "$0")/dex.sh"
minio="$(dirname "$0")/minio.sh"
slurm="$(dirname "$0")/slurm.sh"
dockersh="$(dirname "$0")/docker.sh"
k8s="$(dirname "$0")/k8s.sh"
funnel="$(dirname "$0")/funnel.sh"
mailpit="$(dirname "$0")/mailpit.sh"
sentinel="$(dirname "$0")/sentinel.sh"
cluster="$(dirname "$0")/redis-cluster.sh"
cleanup() {
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  "$sentinel" stop "$state/sentinel" 2>/dev/null || true
  "$cluster" stop "$state/cluster" 2>/dev/null || true
  "$dex" stop "$state/dex" 2>/dev/null || true
  "$minio" stop "$state/minio" 2>/dev/null || true
  "$mailpit" stop "$state/mailpit" 2>/dev/null || true
  "$slurm" stop "$state/slurm" 2>/dev/null || true
  "$funnel" stop "$state/funnel" 2>/dev/null || true
  "$k8s" stop "$state/k8s" 2>/dev/null || true
  "$dockersh" stop "$state/docker" 2>/dev/null || true
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
# A Redis primary, a replica and three Sentinels, for the failover test:
# ENCLAVE_TEST_SENTINEL_ADDRS and ENCLAVE_TEST_SENTINEL_MASTER.
"$sentinel" start "$state/sentinel"
set -a
# shellcheck disable=SC1091
. "$state/sentinel/env"
set +a
echo "test-services: redis sentinels on $ENCLAVE_TEST_SENTINEL_ADDRS"
# A one-node Redis Cluster serving every slot: ENCLAVE_TEST_CLUSTER_ADDRS.
"$cluster" start "$state/cluster"
set -a
# shellcheck disable=SC1091
. "$state/cluster/env"
set +a
echo "test-services: redis cluster on $ENCLAVE_TEST_CLUSTER_ADDRS"
if "$dex" path >/dev/null 2>&1; then
  "$dex" start "$state/dex"
  set -a
  # shellcheck disable=SC1091
  . "$state/dex/env"
  set +a
  echo "test-services: dex on $ENCLAVE_TEST_DEX_ISSUER"
elif [ -n "${CI:-}" ]; then
  echo "test-services: no dex binary (run scripts/dex.sh build); CI needs it" >&2
  exit 1
else
  echo "test-services: no dex binary (scripts/dex.sh build builds it once): the identity tests will skip" >&2
fi
if "$minio" path >/dev/null 2>&1; then
  "$minio" start "$state/minio"
  set -a
  # shellcheck disable=SC1091
  . "$state/minio/env"
  set +a
  echo "test-services: minio on $ENCLAVE_TEST_S3_ENDPOINT"
elif [ -n "${CI:-}" ]; then
  echo "test-services: no minio binary (run scripts/minio.sh build); CI needs it" >&2
  exit 1
else
  echo "test-services: no minio binary (scripts/minio.sh build builds it once): the object-store tests will skip" >&2
fi
if "$mailpit" path >/dev/null 2>&1; then
  "$mailpit" start "$state/mailpit"
  set -a
  # shellcheck disable=SC1091
  . "$state/mailpit/env"
  set +a
  echo "test-services: mailpit SMTP on $ENCLAVE_TEST_SMTP_ADDR, API on $ENCLAVE_TEST_SMTP_API"
elif [ -n "${CI:-}" ]; then
  echo "test-services: no mailpit binary (run scripts/mailpit.sh build); CI needs it" >&2
  exit 1
else
  echo "test-services: no mailpit binary (scripts/mailpit.sh build builds it once): the e-mail tests will skip" >&2
fi
# SLURM (single node) and a loopback sshd with a test user: ENCLAVE_TEST_SLURM_SSH_ADDR,
# _USER, _KEY, _KNOWN_HOSTS and ENCLAVE_TEST_SLURM_WORKDIR (shared by the jobs and the tests).
if "$slurm" available; then
  "$slurm" start "$state/slurm"
  set -a
  # shellcheck disable=SC1091
  . "$state/slurm/env"
  set +a
elif [ -n "${CI:-}" ]; then
  echo "test-services: SLURM/sshd not installed or not root (scripts/setup.sh installs them); CI needs them" >&2
  exit 1
else
  echo "test-services: SLURM/sshd not installed (scripts/slurm.sh install): the SLURM executor tests will skip" >&2
fi
# A dockerd of its own (no bridge, no iptables) with the busybox test image.
if "$dockersh" check 2>/dev/null; then
  "$dockersh" start "$state/docker"
  set -a
  # shellcheck disable=SC1091
  . "$state/docker/env"
  set +a
  echo "test-services: dockerd on $ENCLAVE_TEST_DOCKER_HOST"
elif [ -n "${CI:-}" ]; then
  echo "test-services: no dockerd or static busybox (scripts/setup.sh installs docker.io busybox-static); CI needs it" >&2
  exit 1
else
  echo "test-services: no dockerd or static busybox: the docker executor tests will skip" >&2
fi
# A Kubernetes control plane (etcd, kube-apiserver, controller-manager, scheduler, a kwok
# node): ENCLAVE_TEST_KUBECONFIG.
if "$k8s" path >/dev/null 2>&1 && command -v etcd >/dev/null; then
  "$k8s" start "$state/k8s"
  set -a
  # shellcheck disable=SC1091
  . "$state/k8s/env"
  set +a
elif [ -n "${CI:-}" ]; then
  echo "test-services: no Kubernetes binaries or etcd (scripts/setup.sh builds and installs them); CI needs them" >&2
  exit 1
else
  echo "test-services: no Kubernetes binaries (scripts/k8s.sh build) or etcd: the kubernetes executor tests will skip" >&2
fi
# Funnel, a GA4GH TES server running its tasks on the test dockerd: ENCLAVE_TEST_TES_URL.
if "$funnel" path >/dev/null 2>&1 && [ -n "${ENCLAVE_TEST_DOCKER_HOST:-}" ]; then
  "$funnel" start "$state/funnel"
  set -a
  # shellcheck disable=SC1091
  . "$state/funnel/env"
  set +a
elif [ -n "${CI:-}" ]; then
  echo "test-services: no funnel binary (scripts/funnel.sh build) or no test dockerd; CI needs both" >&2
  exit 1
else
  echo "test-services: no funnel binary (scripts/funnel.sh build) or no test dockerd: the TES executor tests will skip" >&2
fi
"$@"
