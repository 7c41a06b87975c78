#!/usr/bin/env bash
# Helm, used only to lint and render Enclave's chart (charts/enclave); never to talk to a cluster.
#
#   scripts/helm.sh build   build helm v3.22.0 once into $ENCLAVE_CACHE/bin/helm (~3 min on 2 cores)
#   scripts/helm.sh path    print the binary's path (exit 1 if not built)
#   scripts/helm.sh lint    check that the default values alone, and a sealed zone without a
#                           catalogue, are refused, then helm lint and
#                           helm template for every charts/enclave/ci/*.yaml with shell checks
#                           on the output, then the Go chart test (test/chart), which asserts
#                           the rendered objects and runs `enclave config check` on config.yaml
#
# Why build from the module proxy: Helm is not packaged in Debian, and `go install` of the
# tagged module works offline from the proxy cache (see ../shared/COMPONENTS.md item 11).
# The version is pinned and recorded next to the binary, so a bump rebuilds once and an
# unchanged pin never does.
set -euo pipefail

HELM_VERSION=v3.22.0
# The Kubernetes version helm assumes without a cluster (`helm template`, `helm lint`). Helm's
# release Makefile sets it at link time from its client-go (v0.37 → 1.37); a plain `go install`
# leaves the built-in 1.20, which fails the chart's kubeVersion and ages the deprecation checks.
HELM_KUBE_MINOR=37
stamp="$HELM_VERSION kube-1.$HELM_KUBE_MINOR"
cache=${ENCLAVE_CACHE:-/var/cache/enclave}
bin="$cache/bin/helm"
root=$(cd "$(dirname "$0")/.." && pwd)
chart="$root/charts/enclave"

build() {
  if [ -x "$bin" ] && [ "$(cat "$bin.version" 2>/dev/null)" = "$stamp" ]; then
    echo "helm: cached at $bin"
    return
  fi
  mkdir -p "$cache/bin"
  local gobin
  gobin=$(mktemp -d /tmp/enclave-helm-build.XXXXXX)
  trap 'rm -rf "$gobin"' RETURN
  echo "helm: building $HELM_VERSION into $bin; takes about 3 minutes once"
  local t0=$SECONDS
  # A temporary GOBIN, then a rename: an interrupted build never leaves a half-written binary
  # at $bin that the cache check above would trust.
  local x=" -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  local pkg
  for pkg in pkg/lint/rules pkg/chartutil; do
    x+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$HELM_KUBE_MINOR"
  done
  GOBIN="$gobin" GOFLAGS="-mod=mod -buildvcs=false" go install -trimpath -ldflags "-s -w$x" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  mv "$gobin/helm" "$bin.tmp"
  mv "$bin.tmp" "$bin"
  echo "$stamp" >"$bin.version"
  echo "helm: built in $((SECONDS - t0)) s"
}

path() {
  if [ ! -x "$bin" ] || [ "$(cat "$bin.version" 2>/dev/null)" != "$stamp" ]; then
    echo "helm: $stamp not built; run scripts/helm.sh build" >&2
    return 1
  fi
  echo "$bin"
}

fail() { echo "chart-lint: $*" >&2; exit 1; }

# check_render FILE: quick structural checks that need no YAML parser; the Go test does the
# thorough ones.
check_render() {
  local out=$1
  grep -q '^kind: ConfigMap$' "$out" || fail "$out: no ConfigMap"
  [ "$(grep -c '^kind: Deployment$' "$out")" -ge 1 ] || fail "$out: no Deployment"
  grep -q 'readOnlyRootFilesystem: true' "$out" || fail "$out: readOnlyRootFilesystem not set"
  grep -q 'runAsNonRoot: true' "$out" || fail "$out: runAsNonRoot not set"
  grep -q 'allowPrivilegeEscalation: false' "$out" || fail "$out: allowPrivilegeEscalation not false"
  grep -q 'automountServiceAccountToken: false' "$out" || fail "$out: service account token mounted"
  grep -q 'type: RuntimeDefault' "$out" || fail "$out: no RuntimeDefault seccomp profile"
  # No secret may be rendered in clear text anywhere: the chart only references a Secret.
  local leaks
  leaks=$(grep -nE '^[[:space:]]*([a-z_]*password|secret_key|access_key|client_secret|token):[[:space:]]*([^[:space:]"'\'']|"[^"]|'\''[^'\''])' "$out" || true)
  [ -z "$leaks" ] || fail "$out: secret values in the rendered manifests: $leaks"
}

lint() {
  local helm
  helm=$(path)
  local tmp
  tmp=$(mktemp -d /tmp/enclave-chart-lint.XXXXXX)
  trap 'rm -rf "$tmp"' RETURN
  # The default values alone must not render: the chart refuses to deploy without an external
  # Redis (the embedded store cannot be shared between pods), with a message naming the value.
  # (helm lint alone would not notice: it treats `required` failures as information.)
  if "$helm" template enclave "$chart" >"$tmp/default.yaml" 2>"$tmp/default.err"; then
    fail "rendering the default values succeeded; it must fail for want of redis.addr"
  fi
  grep -q 'redis.addr is required' "$tmp/default.err" || fail "no clear message without redis.addr: $(cat "$tmp/default.err")"
  # Nor may a sealed zone (zone.mode's default) without a catalogue: Enclave would refuse it
  # at start, after the rollout.
  if "$helm" template enclave "$chart" -f "$chart/ci/minimal-values.yaml" --set catalog.existingConfigMap= >"$tmp/sealed.yaml" 2>"$tmp/sealed.err"; then
    fail "rendering a sealed zone without a catalogue succeeded; it must fail for want of catalog.existingConfigMap"
  fi
  grep -q 'catalog.existingConfigMap is required' "$tmp/sealed.err" || fail "no clear message without a catalogue: $(cat "$tmp/sealed.err")"
  local f
  for f in "$chart"/ci/*.yaml; do
    "$helm" lint --strict "$chart" -f "$f"
    "$helm" template enclave "$chart" -f "$f" >"$tmp/$(basename "$f")"
    check_render "$tmp/$(basename "$f")"
  done
  echo "chart-lint: helm lint and template OK"
  (cd "$root" && ENCLAVE_HELM="$helm" go test -count=1 ./test/chart/...)
}

case "${1:-}" in
  build) build ;;
  path) path ;;
  lint) lint ;;
  *) echo "usage: $0 build|path|lint" >&2; exit 2 ;;
esac
