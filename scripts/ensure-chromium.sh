#!/usr/bin/env bash
# Ensure Debian's chromium is installed (for headless browser tests); print
# its version. Idempotent.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
APTLOG=/tmp/ensure-chromium.apt.log

die() { echo "ensure-chromium: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || [ -x "$CHROMIUM" ] || die "must run as root to install chromium"

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

if [ ! -x "$CHROMIUM" ]; then
  mkdir -p /run/lock
  exec 8>/run/lock/berth-ensure-chromium.lock
  flock -w 900 8 || die "timed out waiting for another ensure-chromium.sh"
  [ -x "$CHROMIUM" ] || apt_install chromium
fi

# --version needs no display; it still must not hang on a broken install
ver=$(timeout 30 "$CHROMIUM" --version 2>/dev/null) || die "$CHROMIUM --version failed"
echo "chromium: $ver ($CHROMIUM)"
