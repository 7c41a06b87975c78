#!/usr/bin/env bash
# The Docker engine of the docker executor's tests: a dockerd of its own (data root, exec
# root, pid file and socket under DIR, no bridge, no iptables: jobs run with --network
# none), the test image imported from a busybox-static rootfs, since no registry is
# reachable, and an engine image with this machine's python3, Snakemake and cwltool.
#   scripts/docker.sh check        exit 0 when dockerd and busybox (static) are installed
#   scripts/docker.sh start DIR    start dockerd, import the images, write DIR/env
#                                  (ENCLAVE_TEST_DOCKER_HOST, ENCLAVE_TEST_DOCKER_IMAGE, and
#                                  ENCLAVE_TEST_DOCKER_ENGINE_IMAGE when snakemake and
#                                  cwltool are installed)
#   scripts/docker.sh pause DIR    stop that dockerd but keep its state (containers, images):
#                                  the crash tests' "engine down"
#   scripts/docker.sh resume DIR   start it again on the same data root and socket
#   scripts/docker.sh engine-tar   build (or find) the engine image's rootfs tar in the
#                                  cache and print its path
#   scripts/docker.sh stop DIR     stop that dockerd and remove its state
# Needs root (dockerd). Packages: docker.io busybox-static (scripts/setup.sh installs them).
#
# The engine image. No registry is reachable, so it is made of this machine's own files:
# those dpkg lists for python3, snakemake, cwltool, python3-setuptools (cwltool reads its
# own version through it), bash and coreutils and every package they depend on (Depends
# and Pre-Depends, recursively), without documentation, plus the byte code Debian compiled
# for them at install time. Packages only optional features need are left out, with what
# hangs on them alone: the Azure and AWS SDKs (remote files), git, perl, graphviz (DAG
# pictures), dpkg, debconf and the CBC solver (Snakemake falls back to its greedy
# scheduler). The rootfs tar is built once into $ENCLAVE_CACHE/docker, named by a stamp
# of the package list with versions and of this recipe, so it is rebuilt only when one of
# them changes; each start imports it (about 6 s for about 210 MB). After a build the
# image is checked: Snakemake and cwltool each run a workflow in it, confined as the
# executor confines jobs. ENCLAVE_TEST_DOCKER_ENGINES=0 leaves the engine image out.
set -euo pipefail
image=${ENCLAVE_TEST_DOCKER_IMAGE:-local/enclave-busybox:2}
cache=${ENCLAVE_CACHE:-/var/cache/enclave}/docker
engine_roots="python3 snakemake cwltool python3-setuptools bash coreutils"
engine_skip="python3-azure python3-azure-storage python3-uamqp python3-botocore python3-boto3 python3-s3transfer
  git git-man graphviz perl perl-base perl-modules-5.36 libperl5.36 dpkg debconf coinor-cbc"
engine_env="PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp GIT_PYTHON_REFRESH=quiet LANG=C.UTF-8"

check() {
  command -v dockerd >/dev/null && command -v docker >/dev/null || { echo "docker.sh: dockerd not installed (apt-get install docker.io)" >&2; return 1; }
  local bb; bb=$(command -v busybox) || { echo "docker.sh: busybox not installed (apt-get install busybox-static)" >&2; return 1; }
  # A dynamically linked busybox would not run inside the image, which has no libc.
  if ldd "$bb" >/dev/null 2>&1; then echo "docker.sh: $bb is not static (apt-get install busybox-static)" >&2; return 1; fi
  [ "$(id -u)" = 0 ] || { echo "docker.sh: dockerd needs root" >&2; return 1; }
}

# daemon DIR starts dockerd on DIR's data root and socket and waits until it answers.
daemon() {
  local dir=$1
  # The socket path must stay short (sun_path is 108 bytes); the exec root too (containerd shims' sockets).
  mkdir -p "$dir/data" "$dir/exec"
  local sock="$dir/docker.sock"
  # setsid: a test that pauses and resumes the engine runs this from its own process, and
  # the daemon must outlive it. --live-restore: containers keep running while the daemon
  # is down (pause/resume), as production engines are run so that a daemon restart does
  # not kill every job.
  setsid dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    -H "unix://$sock" --iptables=false --ip6tables=false --bridge=none --live-restore \
    >>"$dir/dockerd.log" 2>&1 </dev/null &
  export DOCKER_HOST="unix://$sock"
  for _ in $(seq 1 300); do docker info >/dev/null 2>&1 && break; sleep 0.1; done
  docker info >/dev/null 2>&1 || { echo "docker.sh: dockerd did not start" >&2; tail -20 "$dir/dockerd.log" >&2; return 1; }
}

# halt DIR stops DIR's dockerd (SIGTERM, SIGKILL after 10 s) and waits until it is gone.
halt() {
  local dir=$1 pid
  [ -s "$dir/dockerd.pid" ] || return 0
  pid=$(cat "$dir/dockerd.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$dir/dockerd.pid"
}

start() {
  local dir=$1 started=$SECONDS
  check
  daemon "$dir"
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
  if [ "${ENCLAVE_TEST_DOCKER_ENGINES:-1}" = 0 ]; then
    echo "docker.sh: ENCLAVE_TEST_DOCKER_ENGINES=0: no engine image" >&2
  elif ! command -v snakemake >/dev/null || ! command -v cwltool >/dev/null; then
    echo "docker.sh: snakemake or cwltool not installed: no engine image" >&2
  elif ! engine_image "$dir"; then
    # Only the tests that need the engine image skip without it (or fail under CI).
    [ -z "${CI:-}" ] || return 1
    echo "docker.sh: no engine image: the tests that need it will skip" >&2
  fi
}

# engine_closure prints "package version arch" for each package of the engine image.
engine_closure() {
  /usr/bin/python3 - "$engine_roots" "$engine_skip" <<'PY'
import re, sys
roots, skip = sys.argv[1].split(), set(sys.argv[2].split())
pkgs, provides = {}, {}
with open('/var/lib/dpkg/status') as f:
    for stanza in f.read().split('\n\n'):
        d, key = {}, None
        for line in stanza.splitlines():
            if line[:1] in (' ', '\t') and key:
                d[key] += ' ' + line.strip()
                continue
            key, _, v = line.partition(':')
            d[key] = v.strip()
        if 'Package' not in d or not d.get('Status', '').endswith(' installed'):
            continue
        pkgs[d['Package']] = d
        for p in filter(None, (x.strip() for x in d.get('Provides', '').split(','))):
            provides.setdefault(re.split(r'[ (:]', p)[0], d['Package'])
seen, todo = set(), list(roots)
while todo:
    p = todo.pop()
    if p in seen or p in skip or p not in pkgs:
        continue
    seen.add(p)
    deps = ', '.join(filter(None, [pkgs[p].get('Pre-Depends', ''), pkgs[p].get('Depends', '')]))
    for alt in filter(None, (a.strip() for a in deps.split(','))):
        for o in alt.split('|'):  # the first alternative that is installed
            n = re.split(r'[ (:]', o.strip())[0]
            n = n if n in pkgs else provides.get(n)
            if n:
                todo.append(n)
                break
for p in sorted(seen):
    print(p, pkgs[p].get('Version'), pkgs[p].get('Architecture'))
PY
}

# engine_files PKG... prints the image's files, relative to /: merged-/usr
# paths made canonical (/bin/sh is usr/bin/sh), documentation left out, and beside each .py
# its byte code where Debian compiled it.
engine_files() {
  /usr/bin/python3 - "$@" <<'PY'
import os, sys
skip = ('/usr/share/doc/', '/usr/share/man/', '/usr/share/info/', '/usr/share/locale/', '/usr/share/lintian/', '/usr/share/bug/')
top = {'/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32'}  # symlinks into /usr, made by engine_tar
out = set()
def add(p):
    d, b = os.path.split(p)
    real = os.path.join(os.path.realpath(d), b)
    if p in top or real.startswith(skip) or not os.path.lexists(real):
        return
    if os.path.isdir(real) and not os.path.islink(real):
        return  # tar makes the parents
    out.add(real)
    if b.endswith('.py'):
        pyc = os.path.join(os.path.dirname(real), '__pycache__', b[:-3] + '.cpython-311.pyc')
        if os.path.exists(pyc):
            out.add(pyc)
for pkg in sys.argv[1:]:
    for name in (pkg, pkg + ':amd64'):
        lst = '/var/lib/dpkg/info/%s.list' % name
        if os.path.exists(lst):
            for line in open(lst):
                if line.startswith('/'):
                    add(line.rstrip('\n'))
            break
    else:
        sys.exit('docker.sh: no file list for package ' + pkg)
for p in sorted(out):
    print(p[1:])
PY
}

# engine_stamp prints the engine image's stamp: a hash of its packages (with versions) and
# of the recipe.
engine_stamp() {
  { engine_closure; declare -f engine_closure engine_files engine_tar; echo "$engine_roots $engine_skip $engine_env"; } |
    sha256sum | cut -c1-16
}

# engine_tar OUT writes the engine image's rootfs tar.
engine_tar() {
  local out=$1 extra
  extra=$(mktemp -d)
  mkdir -p "$extra/tmp" "$extra/etc" "$extra/proc" "$extra/sys" "$extra/dev"
  chmod 1777 "$extra/tmp"
  for d in bin sbin lib lib64; do ln -s "usr/$d" "$extra/$d"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$extra/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$extra/etc/group"
  # shellcheck disable=SC2046 # package names are words
  engine_files $(engine_closure | cut -d' ' -f1) >"$out.files"
  tar -C / --no-recursion -cf "$out.tmp" -T "$out.files"
  tar -C "$extra" -rf "$out.tmp" .
  rm -rf "$extra" "$out.files"
  mv "$out.tmp" "$out"
}

# engine_tar_cached prints the path of the cached engine tar, building it when missing.
engine_tar_cached() {
  local stamp tar t0=$SECONDS
  stamp=$(engine_stamp)
  tar="$cache/engines-$stamp.tar"
  if [ ! -s "$tar" ]; then
    mkdir -p "$cache"
    (
      flock 9 # parallel test runs build it once
      if [ ! -s "$tar" ]; then
        find "$cache" -maxdepth 1 -name 'engines-*.tar' ! -name "engines-$stamp.tar" -delete # older recipes or versions
        engine_tar "$tar"
        echo "docker.sh: built the engine rootfs $tar ($(du -m "$tar" | cut -f1) MB) in $((SECONDS - t0))s" >&2
      fi
    ) 9>"$cache/.engines.lock"
  fi
  echo "$tar"
}

# engine_image DIR imports the engine image into DIR's dockerd (DOCKER_HOST set), checks
# it once after a build, and adds ENCLAVE_TEST_DOCKER_ENGINE_IMAGE to DIR/env.
engine_image() {
  local dir=$1 tar stamp tag t0=$SECONDS
  stamp=$(engine_stamp)
  tag="local/enclave-engines:$stamp"
  tar=$(engine_tar_cached)
  if ! docker image inspect "$tag" >/dev/null 2>&1; then
    local c=()
    for kv in $engine_env; do c+=(-c "ENV $kv"); done
    docker import "${c[@]}" "$tar" "$tag" >/dev/null
  fi
  if [ ! -e "$tar.checked" ]; then
    engine_check "$dir" "$tag" || { rm -f "$tar"; return 1; }
    touch "$tar.checked"
  fi
  echo "ENCLAVE_TEST_DOCKER_ENGINE_IMAGE=$tag" >>"$dir/env"
  echo "docker.sh: engine image $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%d", $1/1e6}') MB) ready in $((SECONDS - t0))s" >&2
}

# engine_check DIR TAG runs a two-rule Snakefile and a CWL tool in the image, confined as
# the executor confines jobs.
engine_check() {
  local dir=$1 tag=$2 w
  w=$(mktemp -d "$dir/check.XXXXXX")
  chmod 777 "$w"
  printf 'rule all:\n    input: "b.txt"\nrule a:\n    output: "a.txt"\n    shell: "echo hello > {output}"\nrule b:\n    input: "a.txt"\n    output: "b.txt"\n    shell: "tr a-z A-Z < {input} > {output}"\n' >"$w/Snakefile"
  printf 'cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\ninputs:\n  msg: {type: string, inputBinding: {position: 1}}\nstdout: out.txt\noutputs:\n  out: {type: stdout}\n' >"$w/echo.cwl"
  printf 'msg: hi\n' >"$w/job.yml"
  local run=(docker run --rm --network none --read-only --user 65534:65534 --cap-drop ALL --tmpfs /tmp:mode=1777 -v "$w:$w" -w "$w" "$tag")
  if ! "${run[@]}" snakemake --cores 1 --nolock >"$w/log" 2>&1 || [ "$(cat "$w/b.txt" 2>/dev/null)" != HELLO ] ||
    ! "${run[@]}" cwltool --no-container --outdir out echo.cwl job.yml >>"$w/log" 2>&1 || [ "$(cat "$w/out/out.txt" 2>/dev/null)" != hi ]; then
    echo "docker.sh: the engine image $tag does not run Snakemake and cwltool:" >&2
    tail -30 "$w/log" >&2
    rm -rf "$w"
    return 1
  fi
  rm -rf "$w"
}

# pause stops DIR's dockerd and keeps its data root.
pause() {
  local dir=$1
  [ -d "$dir/data" ] || { echo "docker.sh: no dockerd state in $dir" >&2; return 1; }
  halt "$dir"
}

# resume starts DIR's dockerd again, on the same data root, socket and images.
resume() {
  local dir=$1
  [ -d "$dir/data" ] || { echo "docker.sh: no dockerd state in $dir" >&2; return 1; }
  if [ -s "$dir/dockerd.pid" ] && kill -0 "$(cat "$dir/dockerd.pid")" 2>/dev/null; then return 0; fi
  daemon "$dir"
}

stop() {
  local dir=$1
  [ -d "$dir" ] || return 0
  if [ -s "$dir/dockerd.pid" ]; then
    DOCKER_HOST="unix://$dir/docker.sock" docker ps -aq | xargs -r env DOCKER_HOST="unix://$dir/docker.sock" docker rm -f >/dev/null 2>&1 || true
    halt "$dir"
  fi
  # Overlay mounts of containers may outlive a killed daemon.
  grep -o " $dir/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$dir"
}

case "${1:-}" in
  check) check ;;
  start) start "${2:?usage: docker.sh start DIR}" ;;
  stop) stop "${2:?usage: docker.sh stop DIR}" ;;
  pause) pause "${2:?usage: docker.sh pause DIR}" ;;
  resume) resume "${2:?usage: docker.sh resume DIR}" ;;
  engine-tar) engine_tar_cached ;;
  *) echo "usage: docker.sh check | start DIR | stop DIR | pause DIR | resume DIR | engine-tar" >&2; exit 2 ;;
esac
