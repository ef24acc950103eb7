#!/usr/bin/env bash
# The restore drill, scripted (README, "Operating tradecheck"; CTest
# deploy_restore_drill runs it against the build tree):
#   1. a server with a backup root takes a day's batch of checks;
#   2. deploy/backup.sh makes three verified backups, keeping two;
#   3. a backup checked against the wrong public key is refused, renamed
#      FAILED-..., and the script says so (exit 1);
#   4. the server stops; the newest backup is copied to a new data
#      directory and a server is started on it with the same signing key;
#   5. the restored server holds exactly the backed-up binding records,
#      `tradecheck audit verify` passes, and it takes new checks.
#   deploy/restore-drill.sh BUILD_DIR
set -euo pipefail
build="$(cd "${1:-build}" && pwd)"
here="$(cd "$(dirname "$0")" && pwd)"
server_bin="$build/server/tradecheck_server"
cli="$build/client/tradecheck"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/tradecheck-drill.XXXXXX")"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [ -f "$tmp/server.log" ] && tail -n 20 "$tmp/server.log" >&2; exit 1; }

# start DATA_DIR: a server on a free port, with the drill's key and root.
start() {
  rm -f "$tmp/port"
  "$server_bin" --listen=127.0.0.1:0 --port_file="$tmp/port" \
    --metrics_listen=127.0.0.1:0 --data_dir="$1" \
    --backup_root="$tmp/backups" --tree_head_key="$tmp/key.pem" \
    --tree_head_log="$tmp/heads.log" >>"$tmp/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    [ -s "$tmp/port" ] && break
    kill -0 "$pid" 2>/dev/null || fail "server exited at start"
    sleep 0.1
  done
  [ -s "$tmp/port" ] || fail "server did not start"
  server="127.0.0.1:$(cat "$tmp/port")"
}
stop() {
  kill -TERM "$pid"
  wait "$pid" || fail "server did not stop cleanly"
  pid=""
}

mkdir -m 0700 "$tmp/backups"
openssl genpkey -algorithm ed25519 -out "$tmp/key.pem" 2>/dev/null
openssl pkey -in "$tmp/key.pem" -pubout -out "$tmp/key.pub" 2>/dev/null
openssl genpkey -algorithm ed25519 2>/dev/null | openssl pkey -pubout -out "$tmp/other.pub" 2>/dev/null

start "$tmp/data"
batch="$here/../examples/batch/customs-day.jsonl"
"$cli" --server="$server" check --batch "$batch" >/dev/null || true
records="$("$cli" --server="$server" --json stats | sed -n 's/.*"binding_head_sequence": *"\{0,1\}\([0-9]*\).*/\1/p')"
[ "${records:-0}" -gt 0 ] || fail "the batch recorded nothing"

for i in 1 2 3; do
  "$here/backup.sh" --server="$server" --cli="$cli" --root="$tmp/backups" \
    --heads="$tmp/heads.log" --public-key="$tmp/key.pub" --keep=2 \
    2>>"$tmp/backup.log" || { cat "$tmp/backup.log" >&2; fail "backup $i"; }
  grep -q "verified against" "$tmp/backup.log" || fail "backup $i was not verified"
  sleep 1.1  # backups are named by the second
done
kept="$(find "$tmp/backups" -mindepth 1 -maxdepth 1 -name 'tradecheck-*' | wc -l)"
[ "$kept" -eq 2 ] || fail "retention kept $kept backups, expected 2"

if "$here/backup.sh" --server="$server" --cli="$cli" --root="$tmp/backups" \
     --heads="$tmp/heads.log" --public-key="$tmp/other.pub" --keep=2 2>>"$tmp/backup.log"; then
  fail "a backup checked against the wrong key was accepted"
fi
ls "$tmp/backups" | grep -q '^FAILED-tradecheck-' || fail "the unverified backup was not set aside"
stop

newest="$(find "$tmp/backups" -mindepth 1 -maxdepth 1 -name 'tradecheck-*' -printf '%f\n' | sort -r | head -n1)"
cp -a "$tmp/backups/$newest" "$tmp/restored"
start "$tmp/restored"
restored="$("$cli" --server="$server" --json stats | sed -n 's/.*"binding_head_sequence": *"\{0,1\}\([0-9]*\).*/\1/p')"
[ "$restored" = "$records" ] || fail "restored store has $restored binding records, backed up $records"
"$cli" --server="$server" audit verify >/dev/null || fail "audit verify on the restored store"
"$cli" --server="$server" check "$here/../examples/customs/my-palm-oil-import.json" >/dev/null \
  || [ $? -ge 10 ] || fail "the restored server does not take checks"
stop
echo "restore drill: OK ($records binding records backed up, verified, restored)"
