#!/usr/bin/env bash
# The Debian package, installed for real on this machine (as root; CI runs it from
# `cargo xtask test` after the other suites):
#   install a package of the same build stamped with a lower version → the user, the data
#   folder, the migrated database and the conffile are there → the service's command, run as
#   the service user with the service's settings, answers /readyz and the widget pages (the
#   widgets come out of the binary) and takes a complaint → SIGTERM stops it → the real
#   version is installed over it (an upgrade) → the complaint and the admin's edit of the
#   settings survived → purge removes the user, the data and the settings.
# A trap purges the package whatever happens, so the next run starts clean.
# Usage: tests/package/deb.sh target/dist/minsheng_<version>_<arch>.deb
set -euo pipefail

DEB=$(realpath "$1")
ENV_FILE=/etc/minsheng/minsheng.env
DATA=/var/lib/minsheng
started=$(date +%s)
say() { echo "package test [$(( $(date +%s) - started ))s]: $*"; }
fail() { echo "package test FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (it installs a package)"
command -v dpkg >/dev/null || fail "dpkg is not installed"

WORK=$(mktemp -d)
chmod 0755 "$WORK"
RUNNER=""
SERVER=""
cleanup() {
    rc=$?
    if [ -n "$SERVER" ] && kill -0 "$SERVER" 2>/dev/null; then
        kill -KILL "$SERVER" 2>/dev/null || true
    fi
    if [ -n "$RUNNER" ]; then wait "$RUNNER" 2>/dev/null || true; fi
    if [ "$rc" != 0 ] && [ -s "$WORK/serve.log" ]; then
        echo "--- the server's log:" >&2
        tail -n 40 "$WORK/serve.log" >&2
    fi
    dpkg --purge minsheng >/dev/null 2>&1 || true
    rm -rf "$WORK"
    if [ "$rc" = 0 ]; then say "passed"; fi
    exit "$rc"
}
trap cleanup EXIT

# A run that was killed before its trap could have left it installed.
dpkg --purge minsheng >/dev/null 2>&1 || true

VERSION=$(dpkg-deb --field "$DEB" Version)
LOWER="${VERSION}~older"
dpkg --compare-versions "$LOWER" lt "$VERSION" || fail "$LOWER is not lower than $VERSION"

# The same build, stamped with a lower version.
dpkg-deb --raw-extract "$DEB" "$WORK/lower"
sed -i "s/^Version: .*/Version: $LOWER/" "$WORK/lower/DEBIAN/control"
dpkg-deb --root-owner-group -Zgzip -z1 --build "$WORK/lower" "$WORK/minsheng_${LOWER}.deb" >/dev/null
rm -rf "$WORK/lower"

say "installing $LOWER"
dpkg -i "$WORK/minsheng_${LOWER}.deb"
[ "$(dpkg-query -W -f '${Version} ${Status}' minsheng)" = "$LOWER install ok installed" ] \
    || fail "not installed: $(dpkg-query -W -f '${Version} ${Status}' minsheng)"
getent passwd minsheng >/dev/null || fail "no system user minsheng"
[ "$(stat -c %U "$DATA")" = minsheng ] || fail "$DATA is not the service user's"
[ -s "$DATA/minsheng.db" ] || fail "the install script did not migrate a database into $DATA"
[ "$(stat -c %U "$DATA/minsheng.db")" = minsheng ] || fail "the database was not made by the service user"
[ -f /usr/lib/systemd/system/minsheng.service ] || fail "no systemd unit"
dpkg-query -W -f '${Conffiles}' minsheng | grep -q "$ENV_FILE" || fail "$ENV_FILE is not a conffile"
grep -q '^ProtectSystem=strict' /usr/lib/systemd/system/minsheng.service || fail "the unit is not ProtectSystem=strict"
# The admin edits the settings; the upgrade must keep the edit.
printf '# edited by the package test\nMINSHENG_SUBMIT_IP_PER_MIN=1000\n' >> "$ENV_FILE"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The service's command, as the service user, with the service's settings (as systemd would).
start() {
    PORT=$(free_port)
    BASE="http://127.0.0.1:$PORT"
    # shellcheck disable=SC2046
    (cd "$DATA" && exec runuser -u minsheng -- env $(grep -v '^[[:space:]]*#' "$ENV_FILE" | grep .) \
        /usr/bin/minsheng serve --bind "127.0.0.1:$PORT") >>"$WORK/serve.log" 2>&1 &
    RUNNER=$!
    for _ in $(seq 1 300); do
        SERVER=$(pgrep -P "$RUNNER" -x minsheng || true)
        if [ -n "$SERVER" ] && curl -fsS -o /dev/null "$BASE/readyz" 2>/dev/null; then
            say "serving on $BASE (pid $SERVER, user $(ps -o user= -p "$SERVER"))"
            [ "$(ps -o user= -p "$SERVER" | tr -d ' ')" = minsheng ] || fail "not running as minsheng"
            return
        fi
        kill -0 "$RUNNER" 2>/dev/null || fail "the server exited"
        sleep 0.2
    done
    fail "not ready within 60 s"
}

# SIGTERM to the server itself (runuser would pass it on, then SIGKILL after 2 s).
stop() {
    kill -TERM "$SERVER"
    for _ in $(seq 1 150); do
        kill -0 "$SERVER" 2>/dev/null || { wait "$RUNNER" || true; SERVER=""; RUNNER=""; return; }
        sleep 0.1
    done
    fail "still running 15 s after SIGTERM"
}

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# A widget page and the wasm it loads, from the binary (no widgets folder on this machine).
check_widget() {
    local page
    page=$(curl -fsS --compressed "$BASE/w/$1") || fail "/w/$1 did not answer 200"
    local wasm
    wasm=$(grep -o 'assets/[^"]*\.wasm' <<<"$page" | head -n1)
    [ -n "$wasm" ] || fail "/w/$1 names no wasm"
    local head
    head=$(curl -fsS -o /dev/null -w '%{http_code} %{content_type}' -H 'Accept-Encoding: br' "$BASE/w/$wasm") \
        || fail "/w/$wasm did not answer"
    [ "$head" = "200 application/wasm" ] || fail "/w/$wasm: $head"
}

start
curl -fsS "$BASE/readyz" >/dev/null
check_widget submit
check_widget board
# Demo data (areas, categories, a resident), made as the service user, then a complaint.
(cd "$DATA" && runuser -u minsheng -- env MINSHENG_CONFIG="$ENV_FILE" MINSHENG_LOG=warn /usr/bin/minsheng seed-demo --cases 0) >/dev/null
TOKEN=$(curl -fsS -H 'Content-Type: application/json' \
    -d '{"username":"resident","password":"minsheng2026"}' "$BASE/api/v1/auth/login" | json '["token"]')
CASE=$(curl -fsS -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \
    -d '{"client_request_id":"package-test-1","category_id":3,"description":"安装包测试:升级后这条诉求还在"}' \
    "$BASE/api/v1/cases" | json '["id"]')
say "submitted case $CASE"
stop

say "upgrading to $VERSION"
dpkg -i "$DEB"
[ "$(dpkg-query -W -f '${Version} ${Status}' minsheng)" = "$VERSION install ok installed" ] || fail "not upgraded"
grep -q 'edited by the package test' "$ENV_FILE" || fail "the upgrade lost the admin's edit of $ENV_FILE"

start
check_widget submit
DESC=$(curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/cases/$CASE" | json '["description"]') \
    || fail "case $CASE is gone after the upgrade (or the session is)"
[ "$DESC" = "安装包测试:升级后这条诉求还在" ] || fail "case $CASE reads back as: $DESC"
stop

say "purging"
dpkg --purge minsheng
[ ! -e "$DATA" ] || fail "purge left $DATA"
[ ! -e /etc/minsheng ] || fail "purge left /etc/minsheng"
! getent passwd minsheng >/dev/null || fail "purge left the user minsheng"
