#!/usr/bin/env bash
# Build the local test images (no registry needed) from Debian's busybox-static:
#   berth-test/busybox:1  /VERSION = "1", default CMD idles and exits on SIGTERM
#   berth-test/busybox:2  same, /VERSION = "2" (a second version, for updates)
#   berth-test/broken:1   CMD exits 1 immediately (for rollback tests)
# Skips the rebuild when all tags carry the label berth.test.hash matching this
# script and the busybox binary. Prints the image names.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOCK=/var/run/docker.sock
BUSYBOX=/bin/busybox
APTLOG=/tmp/test-image.apt.log
IMAGES=(berth-test/busybox:1 berth-test/busybox:2 berth-test/broken:1)
LABEL=berth.test.hash

die() { echo "test-image: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"

# one build at a time (parallel test runs may all call this)
mkdir -p /run/lock
exec 9>/run/lock/berth-test-image.lock
flock -w 600 9 || die "timed out waiting for another test-image.sh"

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

dk() { docker -H "unix://$SOCK" "$@"; }

# Docker must be up (installs/starts it when needed; its status line is dropped).
"$HERE/ensure-docker.sh" >/dev/null

bb_status=$(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null || true)
if [[ $bb_status != *"ok installed"* ]] \
   || [ ! -x "$BUSYBOX" ]; then
  apt_install busybox-static
fi
"$BUSYBOX" true 2>/dev/null || die "$BUSYBOX does not run"

hash=$(cat "${BASH_SOURCE[0]}" "$BUSYBOX" | sha256sum | cut -c1-16)

current=1
for img in "${IMAGES[@]}"; do
  have=$(dk image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$img" 2>/dev/null || true)
  [ "$have" = "$hash" ] || { current=; break; }
done
if [ -n "$current" ]; then
  echo "test images: ${IMAGES[*]} (up to date)"
  exit 0
fi

tmp=$(mktemp -d /tmp/berth-test-image.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# --- root filesystem -------------------------------------------------------
root=$tmp/rootfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,data,proc,sys,dev,var/log,run}
install -d -m 1777 "$root/tmp"
install -m 0755 "$BUSYBOX" "$root/bin/busybox"
# every applet at its usual place (sh, sleep, cat, echo, ls, mkdir, httpd, nc,
# wc, env, printf, true, false, date, id, tail, head, grep, ...)
while IFS= read -r applet; do
  case "$applet" in ''|linuxrc|bin/busybox) continue ;; esac
  mkdir -p "$root/$(dirname "$applet")"
  [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done < <("$BUSYBOX" --list-full)
for a in sh sleep cat echo ls mkdir httpd nc wc env printf true false date id tail head grep; do
  [ -e "$root/bin/$a" ] || [ -e "$root/usr/bin/$a" ] || [ -e "$root/sbin/$a" ] \
    || [ -e "$root/usr/sbin/$a" ] || ln -s /bin/busybox "$root/bin/$a"
done
cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
: >"$root/etc/hosts"; : >"$root/etc/resolv.conf"; echo berth-test >"$root/etc/hostname"

# pack ROOTFS -> stdout (reproducible tar: root-owned, fixed mtime, sorted)
pack() {
  tar -C "$1" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - .
}

# Default command: idle forever, but as PID 1 (no default signal handlers)
# still exit at once on SIGTERM/SIGINT, so "docker stop" is fast.
IDLE='["/bin/sh","-c","trap \"exit 0\" TERM INT; while true; do sleep 1 & wait $!; done"]'
BROKEN='["/bin/sh","-c","echo \"berth-test/broken: exiting 1 on purpose\" >&2; exit 1"]'

# import TAG VERSION CMD
import() {
  local tag=$1 version=$2 cmd=$3 old
  old=$(dk image inspect -f '{{.Id}}' "$tag" 2>/dev/null || true)
  echo "$version" >"$root/VERSION"
  pack "$root" | dk import \
    --change "CMD $cmd" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'WORKDIR /' \
    --change "LABEL $LABEL=$hash berth.test.version=$version" \
    --message "berth test image $tag" \
    - "$tag" >/dev/null
  # drop the replaced image if nothing uses it any more
  if [ -n "$old" ] && [ "$old" != "$(dk image inspect -f '{{.Id}}' "$tag")" ]; then
    dk rmi "$old" >/dev/null 2>&1 || true
  fi
}

import berth-test/busybox:1 1 "$IDLE"
import berth-test/busybox:2 2 "$IDLE"
import berth-test/broken:1 broken "$BROKEN"

echo "test images: ${IMAGES[*]} (built)"
