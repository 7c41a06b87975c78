#!/usr/bin/env bash
# The Docker engine of the docker executor's tests: a dockerd of its own (data root, exec
# root, pid file and socket under DIR, no bridge, no iptables: jobs run with --network
# none) and the test image imported from a busybox-static rootfs, since no registry is
# reachable.
#   scripts/docker.sh check        exit 0 when dockerd and busybox (static) are installed
#   scripts/docker.sh start DIR    start dockerd, import the image, write DIR/env
#                                  (ENCLAVE_TEST_DOCKER_HOST, ENCLAVE_TEST_DOCKER_IMAGE)
#   scripts/docker.sh stop DIR     stop that dockerd and remove its state
# Needs root (dockerd). Packages: docker.io busybox-static (scripts/setup.sh installs them).
set -euo pipefail
image=${ENCLAVE_TEST_DOCKER_IMAGE:-local/enclave-busybox:2}

check() {
  command -v dockerd >/dev/null && command -v docker >/dev/null || { echo "docker.sh: dockerd not installed (apt-get install docker.io)" >&2; return 1; }
  local bb; bb=$(command -v busybox) || { echo "docker.sh: busybox not installed (apt-get install busybox-static)" >&2; return 1; }
  # A dynamically linked busybox would not run inside the image, which has no libc.
  if ldd "$bb" >/dev/null 2>&1; then echo "docker.sh: $bb is not static (apt-get install busybox-static)" >&2; return 1; fi
  [ "$(id -u)" = 0 ] || { echo "docker.sh: dockerd needs root" >&2; return 1; }
}

start() {
  local dir=$1 started=$SECONDS
  check
  # The socket path must stay short (sun_path is 108 bytes); the exec root too (containerd shims' sockets).
  mkdir -p "$dir/data" "$dir/exec"
  local sock="$dir/docker.sock"
  dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    -H "unix://$sock" --iptables=false --ip6tables=false --bridge=none \
    >"$dir/dockerd.log" 2>&1 &
  export DOCKER_HOST="unix://$sock"
  for _ in $(seq 1 300); do docker info >/dev/null 2>&1 && break; sleep 0.1; done
  docker info >/dev/null 2>&1 || { echo "docker.sh: dockerd did not start" >&2; tail -20 "$dir/dockerd.log" >&2; return 1; }
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    local root="$dir/rootfs"
    mkdir -p "$root/bin" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/etc" "$root/work"
    chmod 1777 "$root/tmp" && chmod 0777 "$root/work"   # as in any image: the job runs as non-root
    cp "$(command -v busybox)" "$root/bin/busybox"
    for a in $("$root/bin/busybox" --list); do [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"; done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    tar -C "$root" -cf "$dir/rootfs.tar" .
    docker import -c 'ENV PATH=/bin' "$dir/rootfs.tar" "$image" >/dev/null
    rm -rf "$root" "$dir/rootfs.tar"
  fi
  printf 'ENCLAVE_TEST_DOCKER_HOST=%s\nENCLAVE_TEST_DOCKER_IMAGE=%s\n' "$DOCKER_HOST" "$image" >"$dir/env"
  echo "docker.sh: dockerd on $DOCKER_HOST with $image in $((SECONDS - started))s" >&2
}

stop() {
  local dir=$1 pid
  [ -f "$dir/dockerd.pid" ] || return 0
  pid=$(cat "$dir/dockerd.pid")
  DOCKER_HOST="unix://$dir/docker.sock" docker ps -aq | xargs -r env DOCKER_HOST="unix://$dir/docker.sock" docker rm -f >/dev/null 2>&1 || true
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  # Overlay mounts of containers may outlive a killed daemon.
  grep -o " $dir/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$dir"
}

case "${1:-}" in
  check) check ;;
  start) start "${2:?usage: docker.sh start DIR}" ;;
  stop) stop "${2:?usage: docker.sh stop DIR}" ;;
  *) echo "usage: docker.sh check | start DIR | stop DIR" >&2; exit 2 ;;
esac
