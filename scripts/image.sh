#!/usr/bin/env bash
# Builds the enclave container image (Dockerfile) against the Docker engine at $DOCKER_HOST.
#
#   scripts/image.sh build [IMAGE]   build IMAGE (default ghcr.io/spe4hd/enclave:<version>)
#                                    and print its name on stdout
#   scripts/image.sh push IMAGE      push IMAGE to its registry (docker login first)
#
# The build stage is this machine's Go, not a `FROM golang` stage: no registry is reachable
# here, so no base image can be pulled. The binary is static (CGO_ENABLED=0), reproducible
# paths (-trimpath), its version from `git describe` (or $VERSION). The context is a
# temporary directory holding only what the image contains: the binary, the host's CA
# bundle, passwd/group with the non-root user 65532 and empty /data and /tmp. The legacy
# builder (DOCKER_BUILDKIT=0) is used because FROM scratch plus COPY is all it needs and
# the test engine has no BuildKit front end to fetch.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

version() {
  if [ -n "${VERSION:-}" ]; then echo "$VERSION"; return; fi
  git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev
}

build() {
  local ver image ctx t0=$SECONDS
  ver=$(version)
  image=${1:-ghcr.io/spe4hd/enclave:$ver}
  ctx=$(mktemp -d /tmp/enclave-image.XXXXXX)
  trap 'rm -rf "$ctx"' RETURN
  (cd "$root" && CGO_ENABLED=0 GOOS=linux GOARCH=${GOARCH:-amd64} go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X main.version=$ver" -o "$ctx/enclave" ./cmd/enclave)
  local ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
  [ -s "$ca" ] || { echo "image.sh: no CA bundle at $ca (apt-get install ca-certificates, or set CA_BUNDLE)" >&2; return 1; }
  mkdir -p "$ctx/etc/ssl/certs" "$ctx/data" "$ctx/tmp"
  cp "$ca" "$ctx/etc/ssl/certs/ca-certificates.crt"
  chmod 0644 "$ctx/etc/ssl/certs/ca-certificates.crt"
  # Only the user the process runs as; no root login, no shell to name.
  printf 'enclave:x:65532:65532:enclave:/data:/sbin/nologin\n' >"$ctx/etc/passwd"
  printf 'enclave:x:65532:\n' >"$ctx/etc/group"
  chmod 0644 "$ctx/etc/passwd" "$ctx/etc/group"
  chmod 0750 "$ctx/data"
  chmod 1777 "$ctx/tmp"
  cp "$root/Dockerfile" "$ctx/Dockerfile"
  # The classic builder's deprecation notice is noise here: it is chosen on purpose.
  DOCKER_BUILDKIT=0 docker build -q --build-arg "VERSION=$ver" -t "$image" "$ctx" 2> >(grep -v -e DEPRECATED -e 'BuildKit is currently' -e 'environment-variable' >&2) >/dev/null
  echo "image.sh: built $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.1f", $1/1e6}') MB) in $((SECONDS - t0)) s" >&2
  echo "$image"
}

push() {
  local image=${1:?usage: image.sh push IMAGE}
  docker push "$image"
}

case "${1:-}" in
  build) build "${2:-}" ;;
  push) push "${2:-}" ;;
  *) echo "usage: image.sh build [IMAGE] | push IMAGE" >&2; exit 2 ;;
esac
