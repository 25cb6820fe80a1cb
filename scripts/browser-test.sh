#!/usr/bin/env bash
# Runs the SPA's browser tests in Chromium against a real `berth serve` with a
# fresh embedded database, then stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/berth}
data=$(mktemp -d)
password=browser-test-$RANDOM$RANDOM
# Containers of this server get a label of their own, removed at the end.
instance=browser-test-$RANDOM$RANDOM
cleanup() {
  kill $pid 2>/dev/null; wait $pid 2>/dev/null || true
  docker ps -aq --filter "label=berth.instance=$instance" | xargs -r docker rm -f >/dev/null 2>&1 || true
  rm -rf "$data"
}
BERTH_INSTANCE=$instance BERTH_SFTP_LISTEN=off BERTH_ADMIN_PASSWORD=$password \
  "$bin" serve --listen 127.0.0.1:0 --data "$data" 2>"$data/serve.log" &
pid=$!
trap cleanup EXIT
url=
for _ in $(seq 200); do
  url=$(sed -n 's/.*msg=serving url=\(http:[^ ]*\).*/\1/p' "$data/serve.log")
  [ -n "$url" ] && break
  kill -0 $pid 2>/dev/null || { cat "$data/serve.log"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "berth serve did not start"; cat "$data/serve.log"; exit 1; }
cd frontend
BERTH_URL=$url BERTH_ADMIN_USER=admin BERTH_ADMIN_PASSWORD=$password npm run --silent test:browser
