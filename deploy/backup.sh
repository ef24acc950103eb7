#!/usr/bin/env bash
# One scheduled backup of a running tradecheck server, verified, with
# retention. Run by the systemd timer (tradecheck-backup.timer) and the
# Kubernetes CronJob (deploy/k8s/backup-cronjob.yaml).
#
#   backup.sh --root=DIR --heads=FILE --public-key=FILE [--keep=N]
#             [--server=ADDR] [--cli=PATH] [-- CLI_FLAGS...]
#
#   --root        the server's --backup_root (this script reads it, the
#                 server writes into it)
#   --heads       the server's tree-head log (--tree_head_log)
#   --public-key  the tree-head key's public half (<key>.pub)
#   --keep        backups to keep, newest first (default 14); only
#                 directories this script names (tradecheck-YYYYmmddTHHMMSSZ)
#                 are ever removed
#   CLI_FLAGS     passed to every `tradecheck` call (TLS: --ca --cert --key
#                 of an ADMIN identity)
#
# Steps: `tradecheck backup NAME` (an online RocksDB checkpoint made by the
# server), then `tradecheck audit verify --offline` on the new directory
# against every signed tree head of the binding stream up to the backup's
# size (heads signed after the backup would look like a cut tail). A backup
# that does not verify is renamed FAILED-NAME, never counted as a backup,
# and the script exits 1. Only then are old backups pruned.
set -euo pipefail
server="127.0.0.1:50051" root="" heads="" public_key="" keep=14 cli="tradecheck"
while [ $# -gt 0 ]; do
  case "$1" in
    --server=*) server="${1#*=}" ;;
    --root=*) root="${1#*=}" ;;
    --heads=*) heads="${1#*=}" ;;
    --public-key=*) public_key="${1#*=}" ;;
    --keep=*) keep="${1#*=}" ;;
    --cli=*) cli="${1#*=}" ;;
    --) shift; break ;;
    *) echo "backup.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
for v in root heads public_key; do
  if [ -z "${!v}" ]; then echo "backup.sh: --${v/_/-} is required" >&2; exit 2; fi
done
case "$keep" in ''|*[!0-9]*) echo "backup.sh: --keep must be a number" >&2; exit 2 ;; esac
if [ "$keep" -lt 1 ]; then echo "backup.sh: --keep must be at least 1" >&2; exit 2; fi

log() { printf '%s backup.sh: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

name="tradecheck-$(date -u +%Y%m%dT%H%M%SZ)"
out="$("$cli" --server="$server" --json "$@" backup "$name")"
sequence="$(printf '%s' "$out" | sed -n 's/.*"binding_sequence": *"\{0,1\}\([0-9]*\)"\{0,1\}.*/\1/p' | head -n1)"
if [ -z "$sequence" ]; then
  log "no binding_sequence in the server's answer: $out"
  exit 1
fi
dir="$root/$name"
log "backup $dir written, binding stream through sequence $sequence"

# The heads of the binding stream the backup must match: sizes up to its own.
tmp_heads="$(mktemp "${TMPDIR:-/tmp}/tradecheck-heads.XXXXXX")"
trap 'rm -f "$tmp_heads"' EXIT
awk -v max="$sequence" '$1 == "TH1" && $2 == "binding" && $3 + 0 <= max + 0' \
  "$heads" >"$tmp_heads"
if [ "$sequence" -gt 0 ] && [ ! -s "$tmp_heads" ]; then
  log "no signed head of the binding stream in $heads up to $sequence"
  mv "$dir" "$root/FAILED-$name"
  exit 1
fi
if [ -s "$tmp_heads" ]; then
  if ! "$cli" audit verify --offline --trail="$dir" --head="$tmp_heads" \
        --public-key="$public_key" >&2; then
    log "backup $dir does NOT verify; kept as $root/FAILED-$name"
    mv "$dir" "$root/FAILED-$name"
    exit 1
  fi
  log "backup $dir verified against $(wc -l <"$tmp_heads") signed head(s)"
else
  log "backup $dir holds no binding records yet; nothing to verify"
fi

# Retention: newest $keep of this script's backups; names sort by time.
mapfile -t ours < <(find "$root" -mindepth 1 -maxdepth 1 -type d \
  -name 'tradecheck-[0-9]*T[0-9]*Z' -printf '%f\n' | sort -r)
for old in "${ours[@]:$keep}"; do
  log "retention: removing $root/$old"
  rm -rf -- "${root:?}/$old"
done
