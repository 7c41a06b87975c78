#!/usr/bin/env bash
# Builds the engine image: the enclave binary with Snakemake, cwltool and python3, for the
# worker pods of the local executor and the job pods of the kubernetes executor (their
# engines run inside it). Against the Docker engine at $DOCKER_HOST.
#
#   scripts/engine-image.sh build [IMAGE]   build IMAGE (default
#                                           ghcr.io/spe4hd/enclave-engines:<version>), check
#                                           that Snakemake and cwltool run in it, print its name
#
# No registry is reachable, so there is no `FROM debian`: the root file system is made of
# this machine's own Debian packages (python3, snakemake, cwltool and their dependencies,
# without documentation), by scripts/docker.sh engine-tar, which caches the tar in
# $ENCLAVE_CACHE/docker keyed by the package versions and the recipe. To this the script
# adds the static enclave binary (scripts/image.sh builds the same one), a non-root user
# 65532 and its /data, and imports the whole as one layer. The image therefore carries the
# engine versions installed on the build machine: build it on a machine (or in a
# debootstrap chroot) holding exactly the Debian release and packages you validated.
#
# Not part of `make test`: a cold build takes minutes and the image is about 300 MB (see
# docs/deploy.md for the numbers); the docker executor's tests already run Snakemake and
# cwltool in the same package set (scripts/docker.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
env_vars="PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp TMPDIR=/tmp LANG=C.UTF-8 GIT_PYTHON_REFRESH=quiet
  ENCLAVE_SERVER_ADDR=0.0.0.0:8080 ENCLAVE_DATA_DIR=/data SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"

version() {
  if [ -n "${VERSION:-}" ]; then echo "$VERSION"; return; fi
  git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev
}

build() {
  local ver image base work t0=$SECONDS
  ver=$(version)
  image=${1:-ghcr.io/spe4hd/enclave-engines:$ver}
  base=$("$root/scripts/docker.sh" engine-tar)
  echo "engine-image.sh: engine rootfs $base ready after $((SECONDS - t0)) s" >&2
  work=$(mktemp -d /tmp/enclave-engine-image.XXXXXX)
  trap 'rm -rf "$work"' RETURN
  mkdir -p "$work/extra/usr/local/bin" "$work/extra/etc" "$work/extra/data"
  (cd "$root" && CGO_ENABLED=0 go build -trimpath -buildvcs=false \
    -ldflags "-s -w -X main.version=$ver" -o "$work/extra/usr/local/bin/enclave" ./cmd/enclave)
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nenclave:x:65532:65532:enclave:/data:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$work/extra/etc/passwd"
  printf 'root:x:0:\nenclave:x:65532:\nnogroup:x:65534:\n' >"$work/extra/etc/group"
  chmod 0644 "$work/extra/etc/passwd" "$work/extra/etc/group"
  chmod 0750 "$work/extra/data"
  cp "$base" "$work/rootfs.tar"
  # The engine daemon refuses a tar with a path twice: drop the base's passwd and group,
  # and add files only (their parent directories are in the base or implied).
  tar --delete -f "$work/rootfs.tar" ./etc/passwd ./etc/group
  tar -C "$work/extra" --owner=0 --group=0 --no-recursion -rf "$work/rootfs.tar" ./usr/local/bin/enclave ./etc/passwd ./etc/group
  tar -C "$work/extra" --owner=65532 --group=65532 --no-recursion -rf "$work/rootfs.tar" ./data
  local c=(-c "USER 65532:65532" -c "WORKDIR /data" -c 'ENTRYPOINT ["/usr/local/bin/enclave"]' -c 'CMD ["worker"]'
    -c "LABEL org.opencontainers.image.version=$ver")
  local kv
  for kv in $env_vars; do c+=(-c "ENV $kv"); done
  docker import "${c[@]}" "$work/rootfs.tar" "$image" >/dev/null
  check "$image"
  echo "engine-image.sh: built $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%d", $1/1e6}') MB) in $((SECONDS - t0)) s" >&2
  echo "$image"
}

# check runs enclave and both engines in IMAGE as its own user, read-only with no network,
# as the executors confine jobs.
check() {
  local image=$1 p
  local run=(docker run --rm --network none --read-only --cap-drop ALL --tmpfs /tmp:mode=1777 --entrypoint)
  for p in enclave snakemake cwltool; do
    "${run[@]}" "$p" "$image" --version >/dev/null 2>"/tmp/engine-image-check.$$" ||
      { echo "engine-image.sh: '$p' fails in $image:" >&2; cat "/tmp/engine-image-check.$$" >&2; rm -f "/tmp/engine-image-check.$$"; return 1; }
  done
  rm -f "/tmp/engine-image-check.$$"
  [ "$(docker run --rm --network none --entrypoint id "$image" -u)" = 65532 ] ||
    { echo "engine-image.sh: $image does not run as uid 65532" >&2; return 1; }
}

case "${1:-}" in
  build) build "${2:-}" ;;
  *) echo "usage: engine-image.sh build [IMAGE]" >&2; exit 2 ;;
esac
