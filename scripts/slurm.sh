#!/usr/bin/env bash
# Single-node SLURM (Debian's slurm-wlm + munge) and a loopback sshd with a test user, the
# cluster the SLURM executor's tests (executors/slurm) submit to over real SSH.
#
#   scripts/slurm.sh install        install slurmctld slurmd slurm-client munge openssh-server
#                                   from Debian when missing (root)
#   scripts/slurm.sh available      exit 0 when SLURM and sshd are installed and we are root
#   scripts/slurm.sh start DIR      configure and start munge, slurmctld, slurmd (unless SLURM
#                                   already answers), create the two test users, start sshd (with
#                                   the sftp subsystem) on a free loopback port with a fresh host
#                                   key and a client key per user, and write DIR/env
#                                   (ENCLAVE_TEST_SLURM_* lines)
#   scripts/slurm.sh stop DIR       stop the sshd of DIR, remove its key and work directory, and
#                                   stop SLURM when it was started by this script and DIR was its
#                                   last user
#   scripts/slurm.sh pause-sshd DIR   stop only the sshd of DIR (the login node is unreachable;
#                                   SLURM and its jobs go on): the crash tests' "cluster down"
#   scripts/slurm.sh resume-sshd DIR  start that sshd again, same port and keys
#
# Why root: slurmd runs jobs as their submitting user, and the test user must exist and log in
# through sshd; both need root on this machine (no systemd: every daemon is started by hand and
# stopped by its pidfile, never by name).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TEST_USER=${ENCLAVE_TEST_SLURM_USER:-enclaveslurm}
# A second user with a key of its own, for the per-user cluster accounts (executor.slurm.logins).
TEST_USER2=${ENCLAVE_TEST_SLURM_USER2:-enclaveslurm2}

install_pkgs() {
  local need=()
  command -v slurmctld >/dev/null || [ -x /usr/sbin/slurmctld ] || need+=(slurmctld)
  [ -x /usr/sbin/slurmd ] || need+=(slurmd)
  command -v sbatch >/dev/null || need+=(slurm-client)
  [ -x /usr/sbin/munged ] || need+=(munge)
  [ -x /usr/sbin/sshd ] || need+=(openssh-server)
  [ ${#need[@]} -eq 0 ] && return
  [ "$(id -u)" = 0 ] || { echo "slurm: missing ${need[*]}; run as root" >&2; return 1; }
  echo "slurm: installing ${need[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

available() {
  [ "$(id -u)" = 0 ] && [ -x /usr/sbin/slurmctld ] && [ -x /usr/sbin/slurmd ] && [ -x /usr/sbin/munged ] &&
    [ -x /usr/sbin/sshd ] && command -v sbatch >/dev/null
}

slurm_up() { sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; }

# Test runs may overlap: they share one SLURM. Each registers its DIR in $USERS; the last
# one to stop stops SLURM, and only if one of them started it ($OURS).
LOCK=/run/enclave-slurm.lock USERS=/run/enclave-slurm.users OURS=/run/enclave-slurm.ours

start_slurm() {
  local dir=$1
  exec 8>"$LOCK"
  flock 8
  echo "$dir" >>"$USERS"
  if slurm_up; then
    chmod 666 /var/log/slurm/jobcomp.log 2>/dev/null || true
    echo "slurm: already running; reusing it"
    flock -u 8
    return
  fi
  local ncpu
  ncpu=$(nproc)
  mkdir -p /etc/slurm
  # Key choices (see COMPONENTS.md item 2): linuxproc/none plugins need no cgroups;
  # DefMemPerCPU keeps one job from taking the node's whole memory (jobs would serialise);
  # the filetxt job-completion log gives `sacct -c` without slurmdbd; MinJobAge keeps ended
  # jobs visible to scontrol for 5 minutes.
  cat >/etc/slurm/slurm.conf <<CONF
ClusterName=enclave
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPort=6817
SlurmdPort=6818
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=100000
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
MinJobAge=300
InactiveLimit=0
KillWait=5
Waittime=0
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=localhost NodeAddr=127.0.0.1 CPUs=${ncpu} RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
  mkdir -p /run/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm /run/munge
  chown -R slurm:slurm /run/slurm /var/lib/slurm /var/log/slurm
  chown munge:munge /run/munge
  # The completion log must exist before the chmod below (slurmctld creates it only at the
  # first job end).
  [ -e /var/log/slurm/jobcomp.log ] || install -m 666 -o slurm -g slurm /dev/null /var/log/slurm/jobcomp.log
  if [ ! -s /etc/munge/munge.key ]; then
    /usr/sbin/mungekey -c -f 2>/dev/null || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
  fi
  [ -s /run/munge/munged.pid ] && kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null ||
    runuser -u munge -- /usr/sbin/munged 8>&-
  # 8>&-: the daemons must not inherit (and hold) the lock.
  /usr/sbin/slurmctld 8>&-
  /usr/sbin/slurmd -N localhost 8>&- # -N: independent of this machine's host name
  touch "$OURS"
  local t0=$SECONDS
  for _ in $(seq 1 120); do
    if slurm_up; then
      # `sacct -c` opens the completion log O_WRONLY even to read it, and slurmctld
      # re-chmods it 0644 at start: let the (non-root) test user read it.
      chmod 666 /var/log/slurm/jobcomp.log 2>/dev/null || true
      echo "slurm: up in $((SECONDS - t0)) s"
      flock -u 8
      return
    fi
    sleep 0.5
  done
  echo "slurm: did not come up" >&2
  tail -20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2
  return 1
}

# add_user USER KEY: create USER (once), make a fresh client key KEY for it and authorize
# that key; the user's home goes to KEY.home, for stop.
add_user() {
  local user=$1 key=$2
  if ! id "$user" >/dev/null 2>&1; then
    useradd -m -s /bin/bash "$user"
  fi
  # useradd leaves the account locked ('!'), which sshd refuses without PAM: '*' unlocks it
  # without giving it a password.
  usermod -p '*' "$user"
  local home
  home=$(getent passwd "$user" | cut -d: -f6)
  ssh-keygen -q -t ed25519 -N '' -C enclave-slurm-test -f "$key"
  install -d -m 700 -o "$user" -g "$user" "$home/.ssh"
  # Several test runs may share the user: each adds its own key and removes it at stop.
  (
    flock 9
    cat "$key.pub" >>"$home/.ssh/authorized_keys"
    chown "$user:$user" "$home/.ssh/authorized_keys"
    chmod 600 "$home/.ssh/authorized_keys"
  ) 9>"$home/.ssh/.enclave-lock"
  echo "$home" >"$key.home"
}

# remove_key KEY: take KEY's public key out of the authorized_keys it was added to.
remove_key() {
  local key=$1
  [ -s "$key.home" ] && [ -s "$key.pub" ] || return 0
  local keys
  keys="$(cat "$key.home")/.ssh/authorized_keys"
  (
    flock 9
    grep -v -F -x -f "$key.pub" "$keys" >"$keys.tmp" || true
    chown --reference="$keys" "$keys.tmp" && chmod 600 "$keys.tmp" && mv "$keys.tmp" "$keys"
  ) 9>"$(dirname "$keys")/.enclave-lock"
}

start_sshd() {
  local dir=$1
  add_user "$TEST_USER" "$dir/client_key"
  add_user "$TEST_USER2" "$dir/client_key2"
  ssh-keygen -q -t ed25519 -N '' -C enclave-slurm-host -f "$dir/host_key"
  local port
  port=$(free_port "${ENCLAVE_TEST_SLURM_SSH_PORT:-12222}")
  cat >"$dir/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
PidFile $dir/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
AllowUsers $TEST_USER $TEST_USER2
UsePAM no
# The sftp workspace (executor.slurm.workspace: sftp) copies runs over this subsystem.
Subsystem sftp internal-sftp
CONF
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$dir/host_key.pub")" >"$dir/known_hosts"
  mkdir -p /run/sshd && chmod 755 /run/sshd # privilege separation dir of a root sshd
  /usr/sbin/sshd -t -f "$dir/sshd_config"
  /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
  for _ in $(seq 1 100); do
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.05
  done
  # Work dirs the jobs (run as the test user) and the tests (root) both use.
  local work
  work=$(mktemp -d /tmp/enclave-slurm-work.XXXXXX)
  chmod 1777 "$work"
  echo "$work" >"$dir/workdir"
  cat >"$dir/env" <<ENV
ENCLAVE_TEST_SLURM_SSH_ADDR=127.0.0.1:$port
ENCLAVE_TEST_SLURM_SSH_USER=$TEST_USER
ENCLAVE_TEST_SLURM_SSH_KEY=$dir/client_key
ENCLAVE_TEST_SLURM_SSH_KNOWN_HOSTS=$dir/known_hosts
ENCLAVE_TEST_SLURM_SSH_USER2=$TEST_USER2
ENCLAVE_TEST_SLURM_SSH_KEY2=$dir/client_key2
ENCLAVE_TEST_SLURM_WORKDIR=$work
ENCLAVE_TEST_SLURM_JOBCOMP_LOG=/var/log/slurm/jobcomp.log
ENV
  echo "slurm: sshd on 127.0.0.1:$port for $TEST_USER and $TEST_USER2"
}

start() {
  local dir=$1
  available || { echo "slurm: SLURM/sshd not installed or not root (scripts/slurm.sh install)" >&2; return 1; }
  mkdir -p "$dir"
  chmod 755 "$dir"
  start_slurm "$dir"
  start_sshd "$dir"
}

stop() {
  local dir=$1
  [ -s "$dir/sshd.pid" ] && kill "$(cat "$dir/sshd.pid")" 2>/dev/null || true
  remove_key "$dir/client_key"
  remove_key "$dir/client_key2"
  (
    flock 8
    if [ -e "$USERS" ]; then
      grep -v -x -F "$dir" "$USERS" >"$USERS.tmp" || true
      mv "$USERS.tmp" "$USERS"
    fi
    if [ ! -s "$USERS" ] && [ -e "$OURS" ]; then
      for f in /run/slurm/slurmd.pid /run/slurm/slurmctld.pid; do
        [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
      done
      rm -f "$OURS"
    fi
  ) 8>"$LOCK"
  [ -s "$dir/workdir" ] && rm -rf "$(cat "$dir/workdir")"
  return 0
}

# descendants PID prints the pids of PID's children, grandchildren, ...
descendants() {
  local c
  for c in $(ps -o pid= --ppid "$1"); do
    echo "$c"
    descendants "$c"
  done
}

# pause_sshd DIR stops DIR's sshd, and the sshd processes serving its open connections
# (they outlive the listener, and a client would keep using them), and waits until the
# port is closed.
pause_sshd() {
  local dir=$1 port pid
  [ -s "$dir/sshd.pid" ] || { echo "slurm: no sshd running for $dir" >&2; return 1; }
  port=$(sed -n 's/^Port //p' "$dir/sshd_config")
  pid=$(cat "$dir/sshd.pid")
  # shellcheck disable=SC2046 # one pid a word
  kill "$pid" $(descendants "$pid") 2>/dev/null || true
  for _ in $(seq 1 100); do
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
    sleep 0.05
  done
  rm -f "$dir/sshd.pid"
}

# resume_sshd DIR starts DIR's sshd again with its config and waits until it listens.
resume_sshd() {
  local dir=$1 port
  [ -s "$dir/sshd_config" ] || { echo "slurm: no sshd config in $dir" >&2; return 1; }
  port=$(sed -n 's/^Port //p' "$dir/sshd_config")
  /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
  for _ in $(seq 1 100); do
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "slurm: sshd did not come back on port $port" >&2
  return 1
}

case "${1:-}" in
install) install_pkgs ;;
available) available ;;
start) start "${2:?usage: slurm.sh start DIR}" ;;
stop) stop "${2:?usage: slurm.sh stop DIR}" ;;
pause-sshd) pause_sshd "${2:?usage: slurm.sh pause-sshd DIR}" ;;
resume-sshd) resume_sshd "${2:?usage: slurm.sh resume-sshd DIR}" ;;
*)
  echo "usage: scripts/slurm.sh install|available|start DIR|stop DIR|pause-sshd DIR|resume-sshd DIR" >&2
  exit 2
  ;;
esac
