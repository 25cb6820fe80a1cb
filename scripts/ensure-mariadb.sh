#!/usr/bin/env bash
# Ensure a local MariaDB server is installed and answering for root over the
# unix socket (no password). Idempotent; prints one status line on success.
set -euo pipefail

MARIADBD=/usr/sbin/mariadbd
LOG=/var/log/mysql/mariadbd.log
APTLOG=/tmp/ensure-mariadb.apt.log

die() { echo "ensure-mariadb: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"

# one starter at a time (parallel callers must not race two servers)
mkdir -p /run/lock
exec 8>/run/lock/berth-ensure-mariadb.lock
flock -w 600 8 || die "timed out waiting for another ensure-mariadb.sh"

# Wait until no other apt/dpkg process holds the package manager.
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

# apt_install PKG...: install packages, running apt-get update only when the
# package lists do not know a package or the install fails (stale lists).
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

answers() { mariadb -uroot -e 'select 1' >/dev/null 2>&1; }

if [ ! -x "$MARIADBD" ] || ! command -v mariadb >/dev/null 2>&1; then
  apt_install mariadb-server
fi

if ! answers; then
  # Run as the Debian "mysql" user when it exists (keeps the datadir's
  # ownership consistent with the package); otherwise as root.
  run_user=root
  id mysql >/dev/null 2>&1 && run_user=mysql

  datadir=$(my_print_defaults --mysqld 2>/dev/null | sed -n 's/^--datadir=//p' | tail -n 1)
  datadir=${datadir:-/var/lib/mysql}
  sockdir=$(my_print_defaults --mysqld 2>/dev/null | sed -n 's/^--socket=//p' | tail -n 1)
  sockdir=$(dirname "${sockdir:-/run/mysqld/mysqld.sock}")

  install -d -m 0755 -o "$run_user" "$sockdir" /run/mysqld "$(dirname "$LOG")"
  [ -d "$datadir" ] || install -d -m 0750 -o "$run_user" "$datadir"
  if [ ! -d "$datadir/mysql" ]; then
    mariadb-install-db --user="$run_user" --datadir="$datadir" >>"$LOG" 2>&1 \
      || { tail -n 20 "$LOG" >&2; die "mariadb-install-db failed (log: $LOG)"; }
  fi

  # (start-stop-daemon --background closes inherited fds, incl. our lock)
  start-stop-daemon --start --oknodo --background --exec "$MARIADBD" -- \
    --user="$run_user" --log-error="$LOG" </dev/null >/dev/null

  ok=
  for ((i = 0; i < 120; i++)); do
    if answers; then ok=1; break; fi
    # Give up early if the server died (it needs ~1 s to appear).
    if [ "$i" -ge 6 ] && ! start-stop-daemon --status --exec "$MARIADBD"; then
      sleep 0.5; answers && { ok=1; break; }
      break
    fi
    sleep 0.5
  done
  if [ -z "$ok" ]; then
    [ -f "$LOG" ] && tail -n 20 "$LOG" >&2
    err=$(mariadb -uroot -e 'select 1' 2>&1 >/dev/null || true)
    [ -n "$err" ] && echo "last client error: $err" >&2
    die "mariadbd exited or did not answer 'mariadb -uroot -e \"select 1\"' within 60 s (log: $LOG)"
  fi
fi

sock=$(mariadb -uroot -N -B -e 'select @@socket' 2>/dev/null) || die "cannot query @@socket"
[ -S "$sock" ] || die "server reports socket $sock but it is not a socket"
echo "mariadb: ready on $sock"
