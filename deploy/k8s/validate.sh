#!/usr/bin/env bash
# CTest deploy_k8s_validate: checks deploy/k8s/*.yaml against the Kubernetes
# schemas and the project's rules (validate/validate.mjs says exactly what),
# with the npm package kubernetes-models (pinned in validate/package-lock.json;
# installed into validate/node_modules on first run, from the npm registry).
# Then makes sure the validator can fail: a copy with a wrong type and one
# without the gRPC probe must both be refused.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/validate"
if [ ! -d node_modules/kubernetes-models ]; then
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
node validate.mjs "$here"/*.yaml

tmp="$(mktemp -d "${TMPDIR:-/tmp}/tradecheck-k8s.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
sed 's/replicas: 1/replicas: "one"/' "$here/statefulset.yaml" >"$tmp/type.yaml"
sed 's/^\( *\)grpc:$/\1tcpSocket:/' "$here/statefulset.yaml" >"$tmp/probe.yaml"
for broken in "$tmp/type.yaml" "$tmp/probe.yaml"; do
  if node validate.mjs "$broken" 2>/dev/null; then
    echo "FAIL: the validator accepted a broken manifest ($(basename "$broken"))" >&2
    exit 1
  fi
done
echo "deploy_k8s_validate: OK"
