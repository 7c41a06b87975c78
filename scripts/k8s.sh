#!/usr/bin/env bash
# A real Kubernetes control plane for the Kubernetes executor's tests: etcd (Debian's
# etcd-server), kube-apiserver, kube-controller-manager and kube-scheduler built from the
# Go module proxy, and kwok for a fake node (../shared/COMPONENTS.md item 7).
#
#   scripts/k8s.sh build            build the binaries once into $ENCLAVE_CACHE/k8s (~15 min on 2 cores)
#   scripts/k8s.sh path             print the binaries' directory (exit 1 if not built)
#   scripts/k8s.sh start STATEDIR   start the control plane on free loopback ports; writes
#                                   STATEDIR/kubeconfig and STATEDIR/env (ENCLAVE_TEST_KUBECONFIG)
#   scripts/k8s.sh stop STATEDIR    stop what start started
#   scripts/k8s.sh pause-apiserver STATEDIR   kill the kube-apiserver only (etcd and the
#                                   rest keep running): an outage of the cluster's API
#   scripts/k8s.sh resume-apiserver STATEDIR  start it again with the same arguments, port,
#                                   certificates and etcd data, and wait until it is ready
#
# Why a scratch module: `go install k8s.io/kubernetes/cmd/kube-apiserver@v1.37.2` is refused
# (replace directives in k8s.io/kubernetes' go.mod). A throw-away module that requires
# k8s.io/kubernetes and maps each staging module to its published v0.37.2 builds.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

K8S_VERSION=1.37.2
KWOK_VERSION=v0.8.0
cache=${ENCLAVE_CACHE:-/var/cache/enclave}
dir="$cache/k8s"
stamp="v$K8S_VERSION+kwok-$KWOK_VERSION"
components="kube-apiserver kube-controller-manager kube-scheduler"

built() {
  [ "$(cat "$dir/version" 2>/dev/null)" = "$stamp" ] || return 1
  local c
  for c in $components kwok; do [ -x "$dir/$c" ] || return 1; done
  [ -s "$dir/kwok-stages.yaml" ]
}

build() {
  if built; then
    echo "k8s: cached at $dir"
    return
  fi
  mkdir -p "$dir"
  local mod t0=$SECONDS sv="0.${K8S_VERSION#1.}"
  mod=$(mktemp -d /tmp/enclave-k8s-build.XXXXXX)
  trap 'rm -rf "$mod"' RETURN
  echo "k8s: building kube-apiserver, kube-controller-manager, kube-scheduler v$K8S_VERSION and kwok $KWOK_VERSION into $dir; about 15 minutes once"
  export GOFLAGS="-mod=mod -buildvcs=false"
  printf 'module enclave.local/k8sbuild\n\ngo 1.26\n\nrequire k8s.io/kubernetes v%s\n' "$K8S_VERSION" >"$mod/go.mod"
  (cd "$mod" && go mod download k8s.io/kubernetes@v$K8S_VERSION)
  local modfile
  modfile="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$K8S_VERSION.mod"
  {
    echo "replace ("
    grep -oE 'k8s.io/[a-z0-9-]+ => ./staging' "$modfile" | awk -v sv="$sv" '{print "\t" $1 " => " $1 " v" sv}'
    echo ")"
  } >>"$mod/go.mod"
  # Without the version ldflags the server reports v0.0.0-master and clients cannot parse it.
  local minor ld c
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  ld="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  for c in $components; do
    [ -x "$dir/$c" ] && [ "$(cat "$dir/$c.version" 2>/dev/null)" = "$K8S_VERSION" ] && continue
    (cd "$mod" && go build -trimpath -ldflags "$ld" -o "$dir/$c.tmp" "k8s.io/kubernetes/cmd/$c")
    mv "$dir/$c.tmp" "$dir/$c"
    echo "$K8S_VERSION" >"$dir/$c.version"
    echo "k8s: $c built ($((SECONDS - t0)) s so far)"
  done
  local gobin
  gobin=$(mktemp -d /tmp/enclave-kwok-build.XXXXXX)
  GOBIN="$gobin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$gobin/kwok" "$dir/kwok"
  rm -rf "$gobin"
  # kwok manages only the fake node (heartbeats, Ready). The pods on it are run by the
  # tests' own node agent (executors/kubernetes), so no pod stages are loaded.
  local stages
  stages="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage"
  { echo '---'; cat "$stages/node/fast/node-initialize.yaml"; } >"$dir/kwok-stages.yaml"
  echo "$stamp" >"$dir/version"
  echo "k8s: built in $((SECONDS - t0)) s"
}

wait_for() { # what cmd...
  local what=$1
  shift
  for _ in $(seq 1 600); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "k8s: $what did not become ready" >&2
  return 1
}

start() {
  local state=$1
  built || { echo "k8s: not built; run scripts/k8s.sh build" >&2; return 1; }
  command -v etcd >/dev/null || { echo "k8s: etcd not installed (apt-get install etcd-server)" >&2; return 1; }
  mkdir -p "$state/certs" "$state/etcd"
  state=$(cd "$state" && pwd)
  local etcd api
  etcd=$(free_port "${ENCLAVE_TEST_ETCD_PORT:-12379}")
  local peer
  peer=$(free_port $((etcd + 1)))
  api=$(free_port "${ENCLAVE_TEST_K8S_PORT:-16443}")
  local kcm sched
  kcm=$(free_port $((api + 1)))
  sched=$(free_port $((kcm + 1)))
  openssl genrsa -out "$state/sa.key" 2048 2>/dev/null
  openssl rsa -in "$state/sa.key" -pubout -out "$state/sa.pub" 2>/dev/null
  local token
  token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "$token,enclave-test-admin,enclave-test-admin,system:masters" >"$state/tokens.csv"
  chmod 600 "$state/tokens.csv" "$state/sa.key"
  etcd --data-dir "$state/etcd" --name default \
    --listen-client-urls "http://127.0.0.1:$etcd" --advertise-client-urls "http://127.0.0.1:$etcd" \
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
    --initial-cluster "default=http://127.0.0.1:$peer" >"$state/etcd.log" 2>&1 &
  echo $! >"$state/etcd.pid"
  wait_for etcd curl -sf "http://127.0.0.1:$etcd/health" || { cat "$state/etcd.log" >&2; return 1; }
  # The arguments are kept so that resume-apiserver starts the same API server again.
  # WatchList=false: Debian's etcd 3.4.23 lacks progress notifications, so the API server
  # ends every streaming list-watch (sendInitialEvents) with "RequestWatchProgress is
  # disabled", and clients (kwok, the controllers, the node agent) relist with a growing
  # backoff: kwok then saw a new node only after up to a minute. With the gate off the
  # server refuses such watches at once and clients use LIST then WATCH, which 3.4 serves.
  local args=(--etcd-servers="http://127.0.0.1:$etcd" --bind-address=127.0.0.1 --advertise-address=127.0.0.1
    --secure-port="$api" --cert-dir="$state/certs" --endpoint-reconciler-type=none
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$state/sa.pub"
    --service-account-signing-key-file="$state/sa.key" --service-cluster-ip-range=10.0.0.0/24
    --token-auth-file="$state/tokens.csv" --authorization-mode=RBAC
    --feature-gates=PodLogsQuerySplitStreams=true,WatchList=false)
  printf '%s\0' "${args[@]}" >"$state/apiserver.args"
  echo "https://127.0.0.1:$api" >"$state/apiserver.url"
  cat >"$state/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: enclave-test, cluster: {server: "https://127.0.0.1:$api", certificate-authority: "$state/certs/apiserver.crt"}}]
users: [{name: admin, user: {token: "$token"}}]
contexts: [{name: enclave-test, context: {cluster: enclave-test, user: admin}}]
current-context: enclave-test
KC
  chmod 600 "$state/kubeconfig"
  run_apiserver "$state"
  "$dir/kube-controller-manager" --kubeconfig="$state/kubeconfig" --leader-elect=false \
    --service-account-private-key-file="$state/sa.key" --use-service-account-credentials=false --controllers='*' \
    --bind-address=127.0.0.1 --secure-port="$kcm" >"$state/kcm.log" 2>&1 &
  echo $! >"$state/kcm.pid"
  "$dir/kube-scheduler" --kubeconfig="$state/kubeconfig" --leader-elect=false \
    --bind-address=127.0.0.1 --secure-port="$sched" >"$state/scheduler.log" 2>&1 &
  echo $! >"$state/scheduler.pid"
  # kwok renews a node Lease per node (the heartbeat the node lifecycle controller
  # reads), so nodes stay Ready without a heartbeat stage.
  "$dir/kwok" --kubeconfig="$state/kubeconfig" --config="$dir/kwok-stages.yaml" --manage-all-nodes=true \
    --cidr=10.0.0.0/24 --node-ip=10.0.0.1 --node-lease-duration-seconds=40 >"$state/kwok.log" 2>&1 &
  echo $! >"$state/kwok.pid"
  # One fake node for manual use (kubectl, kwok's own pod stages are not loaded, so pods
  # bound to it stay Pending). The executor's tests register their own node through
  # their node agent (internal/testsupport/k8sagent), which runs its pods.
  if command -v kubectl >/dev/null; then
    kubectl --kubeconfig="$state/kubeconfig" apply -f - >/dev/null <<'NODE'
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations: {node.alpha.kubernetes.io/ttl: "0", kwok.x-k8s.io/node: fake}
  labels: {type: kwok, kubernetes.io/hostname: kwok-node-0, kubernetes.io/os: linux}
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
NODE
  else
    echo "k8s: no kubectl: node kwok-node-0 not created" >&2
  fi
  cat >"$state/env" <<ENV
ENCLAVE_TEST_KUBECONFIG=$state/kubeconfig
ENCLAVE_TEST_K8S_STATE=$state
ENV
  echo "k8s: apiserver on https://127.0.0.1:$api"
}

# run_apiserver starts kube-apiserver with the arguments start saved and waits until it
# is ready; its log is appended to, so a resumed server's log follows the first one's.
run_apiserver() {
  local state=$1 args token url
  mapfile -d '' args <"$state/apiserver.args"
  "$dir/kube-apiserver" "${args[@]}" >>"$state/apiserver.log" 2>&1 &
  echo $! >"$state/apiserver.pid"
  token=$(cut -d, -f1 "$state/tokens.csv")
  url=$(cat "$state/apiserver.url")
  wait_for kube-apiserver sh -c "curl -sf --cacert '$state/certs/apiserver.crt' -H 'Authorization: Bearer $token' $url/readyz | grep -q ok" ||
    { tail -50 "$state/apiserver.log" >&2; return 1; }
}

# stop_one stops the component whose pid STATEDIR/NAME.pid holds: SIGNAL (TERM by
# default), SIGKILL if it is still there after 5 s, and waits until it is gone, so that
# its port (and etcd's data dir) is free afterwards.
stop_one() {
  local state=$1 name=$2 sig=${3:-TERM} pid
  pid=$(cat "$state/$name.pid" 2>/dev/null) || return 0
  kill -s "$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$state/$name.pid"
}

stop() {
  local state=$1 p
  for p in kwok scheduler kcm apiserver etcd; do
    stop_one "$state" "$p"
  done
}

pause_apiserver() {
  local state=$1
  [ -s "$state/apiserver.pid" ] || { echo "k8s: no kube-apiserver running in $state" >&2; return 1; }
  # SIGKILL, as a crash or a lost control-plane machine: a graceful stop drains watches
  # for about a minute. Nothing is lost: the API server keeps no state outside etcd.
  stop_one "$state" apiserver KILL
  echo "k8s: kube-apiserver killed"
}

resume_apiserver() {
  local state=$1
  [ -s "$state/apiserver.args" ] || { echo "k8s: $state was not started by scripts/k8s.sh start" >&2; return 1; }
  [ ! -s "$state/apiserver.pid" ] || { echo "k8s: kube-apiserver already running in $state" >&2; return 1; }
  run_apiserver "$state"
  echo "k8s: kube-apiserver on $(cat "$state/apiserver.url") again"
}

case "${1:-}" in
build) build ;;
path) built && echo "$dir" ;;
start) start "${2:?state dir}" ;;
stop) stop "${2:?state dir}" ;;
pause-apiserver) pause_apiserver "${2:?state dir}" ;;
resume-apiserver) resume_apiserver "${2:?state dir}" ;;
*)
  echo "usage: $0 build|path|start STATEDIR|stop STATEDIR|pause-apiserver STATEDIR|resume-apiserver STATEDIR" >&2
  exit 2
  ;;
esac
