#!/usr/bin/env bash
# Ensure a Docker daemon is installed and answering on /var/run/docker.sock.
# If it is not running, start dockerd detached (log: /var/log/dockerd.log),
# falling back to more conservative flags when the default set cannot start
# or cannot run a container. Idempotent; prints one status line on success.
set -euo pipefail

SOCK=/var/run/docker.sock
LOG=/var/log/dockerd.log
APTLOG=/tmp/ensure-docker.apt.log
SMOKE_IMAGE=berth-test/busybox:1   # built by scripts/test-image.sh, used if present

# Flag sets tried in order when we have to start dockerd ourselves.
# 1. defaults (overlay2 on ext4/xfs; works on this sandbox's VM kernel)
# 2. vfs storage (overlay2 often cannot mount inside containers)
# 3. vfs and no iptables management (nested sandboxes without netfilter);
#    containers still get the default bridge, but -p publishing needs
#    working NAT, so prefer the earlier sets.
FLAGSETS=(
  ""
  "--storage-driver=vfs"
  "--storage-driver=vfs --iptables=false --ip-masq=false"
)

die() { echo "ensure-docker: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"

# one starter at a time (parallel callers must not race two dockerds)
mkdir -p /run/lock
exec 8>/run/lock/berth-ensure-docker.lock
flock -w 600 8 || die "timed out waiting for another ensure-docker.sh"

wait_for_apt() {
  local i c busy
  for ((i = 0; i < 900; i++)); do
    busy=
    for c in /proc/[0-9]*/comm; do
      case "$(cat "$c" 2>/dev/null)" in
        apt|apt-get|dpkg|aptitude|unattended-upgr) busy=1; break ;;
      esac
    done
    [ -z "$busy" ] && return 0
    sleep 1
  done
  die "timed out waiting for another apt-get/dpkg to finish"
}

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  local p pol need_update=
  wait_for_apt
  for p in "$@"; do
    pol=$(apt-cache policy "$p" 2>/dev/null || true)
    [[ $pol =~ Candidate:\ [^\(] ]] || need_update=1
  done
  if [ -n "$need_update" ]; then
    apt-get -o DPkg::Lock::Timeout=600 update >"$APTLOG" 2>&1 \
      || { tail -n 20 "$APTLOG" >&2; die "apt-get update failed (log: $APTLOG)"; }
  fi
  if ! apt-get -o DPkg::Lock::Timeout=600 install -y -q "$@" >>"$APTLOG" 2>&1; then
    wait_for_apt
    apt-get -o DPkg::Lock::Timeout=600 update >>"$APTLOG" 2>&1 || true
    apt-get -o DPkg::Lock::Timeout=600 install -y -q "$@" >>"$APTLOG" 2>&1 \
      || { tail -n 20 "$APTLOG" >&2; die "apt-get install $* failed (log: $APTLOG)"; }
  fi
}

# Always talk to the local socket, whatever DOCKER_HOST/context says. The
# docker CLI first in PATH may be newer than the daemon; it negotiates.
dk() { docker -H "unix://$SOCK" "$@"; }
answers() { dk info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

status_line() {
  local v d
  v=$(dk version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null || echo '?')
  d=$(dk info --format '{{.Driver}}' 2>/dev/null || echo '?')
  echo "docker: ready on $SOCK, server $v, storage driver $d${1:+, started with flags: ${1}}"
}

dockerd_pids() {
  local c
  for c in /proc/[0-9]*/comm; do
    [ "$(cat "$c" 2>/dev/null)" = dockerd ] && { c=${c#/proc/}; echo "${c%/comm}"; }
  done
  return 0
}

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  apt_install docker.io
fi

# smoke test: a container can be created, run and removed (needs a local image)
smoke() {
  dk image inspect "$SMOKE_IMAGE" >/dev/null 2>&1 || return 0
  timeout 60 docker -H "unix://$SOCK" run --rm "$SMOKE_IMAGE" true >>"$LOG" 2>&1
}

stop_dockerd() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 40; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true
  sleep 1
}

# The default bridge can vanish under a running dockerd (a restored
# machine); containers then fail to start with "could not find bridge
# docker0". Put it back as dockerd made it.
ensure_bridge() {
  command -v ip >/dev/null 2>&1 || return 0
  ip link show docker0 >/dev/null 2>&1 && return 0
  echo "=== ensure-docker: docker0 bridge missing; recreating it" >>"$LOG"
  ip link add docker0 type bridge &&
    ip addr add 172.17.0.1/16 dev docker0 &&
    ip link set docker0 up
}

if answers; then
  ensure_bridge || true
  if smoke; then
    status_line ""
    exit 0
  fi
  echo "=== ensure-docker: dockerd answers but cannot run $SMOKE_IMAGE; restarting it" >>"$LOG"
  for pid in $(dockerd_pids); do stop_dockerd "$pid"; done
fi

# A dockerd that is still starting up: give it the full minute first.
if [ -n "$(dockerd_pids)" ]; then
  for ((i = 0; i < 120; i++)); do answers && { status_line ""; exit 0; }; sleep 0.5; done
  die "a dockerd process ($(dockerd_pids | tr '\n' ' ')) is running but $SOCK does not answer after 60 s (log: $LOG)"
fi

# cgroup hierarchy (only needed on bare systems without systemd)
if [ -z "$(ls -A /sys/fs/cgroup 2>/dev/null)" ] && command -v cgroupfs-mount >/dev/null 2>&1; then
  cgroupfs-mount >/dev/null 2>&1 || true
fi

# start_dockerd FLAGS: start detached; echo pid
start_dockerd() {
  local flags=$1
  mkdir -p "$(dirname "$LOG")"
  echo "=== $(date -Is) ensure-docker: starting dockerd ${flags:-(default flags)}" >>"$LOG"
  # Subshell: close every inherited fd above 2 (our lock, callers' pipes) so
  # the long-lived daemon holds none of them, then exec into dockerd in its
  # own session so it survives the calling shell.
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"
    done
    # shellcheck disable=SC2086
    exec nohup setsid dockerd -H "unix://$SOCK" $flags </dev/null >>"$LOG" 2>&1
  ) &
  local pid=$!
  disown "$pid" 2>/dev/null || true
  echo "$pid"
}

# wait_up PID: 0 when the socket answers within 60 s, 1 if dockerd died/timed out
wait_up() {
  local pid=$1 i
  for ((i = 0; i < 120; i++)); do
    answers && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}

for flags in "${FLAGSETS[@]}"; do
  pid=$(start_dockerd "$flags")
  if wait_up "$pid"; then
    if smoke; then
      status_line "${flags:-(default)}"
      exit 0
    fi
    echo "=== ensure-docker: dockerd ${flags:-(default flags)} is up but cannot run $SMOKE_IMAGE; trying next flags" >>"$LOG"
  else
    echo "=== ensure-docker: dockerd ${flags:-(default flags)} did not come up" >>"$LOG"
  fi
  stop_dockerd "$pid"
done

tail -n 30 "$LOG" >&2
die "could not start a working dockerd with any of: ${FLAGSETS[*]:-default} (log: $LOG)"
