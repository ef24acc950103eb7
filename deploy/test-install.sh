#!/usr/bin/env bash
# CTest deploy_install_test: `cmake --install` into a temporary prefix, then
# checks the FHS layout and runs the INSTALLED server the way systemd would:
# no --agreements_dir (it must find <prefix>/share/tradecheck/agreements
# beside itself), NOTIFY_SOCKET set (READY=1 must come once it serves,
# STOPPING=1 when it drains), `tradecheck health` from the installed CLI.
#   deploy/test-install.sh BUILD_DIR
set -euo pipefail
build="$(cd "$1" && pwd)"
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/tradecheck-install.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log"
for f in bin/tradecheck_server bin/tradecheck \
         share/tradecheck/agreements/ruleset.textproto \
         lib/systemd/system/tradecheck.service \
         lib/systemd/system/tradecheck-backup.service \
         lib/systemd/system/tradecheck-backup.timer \
         libexec/tradecheck/backup.sh \
         lib/sysusers.d/tradecheck.conf \
         etc/tradecheck/tradecheck.flags; do
  if [ ! -e "$prefix/$f" ]; then
    echo "FAIL: cmake --install did not install $f" >&2
    exit 1
  fi
done
unit="$prefix/lib/systemd/system/tradecheck.service"
grep -q '^Type=notify$' "$unit" || { echo "FAIL: unit is not Type=notify" >&2; exit 1; }
grep -q '^ExecStart=/.*/bin/tradecheck_server --flagfile=/.*/tradecheck/tradecheck.flags$' "$unit" \
  || { echo "FAIL: ExecStart is not an absolute installed path" >&2; exit 1; }
if grep -q '@TC_' "$unit" "$prefix/lib/systemd/system/tradecheck-backup.service"; then echo "FAIL: unconfigured @VAR@ in the unit" >&2; exit 1; fi
grep -q '^u tradecheck ' "$prefix/lib/sysusers.d/tradecheck.conf" \
  || { echo "FAIL: sysusers.d does not declare the tradecheck user" >&2; exit 1; }
"$prefix/bin/tradecheck_server" --version | grep -q '^tradecheck_server [0-9]' \
  || { echo "FAIL: installed server --version" >&2; exit 1; }

/usr/bin/python3 "$here/notify_check.py" "$prefix" "$tmp"
echo "deploy_install_test: OK"
