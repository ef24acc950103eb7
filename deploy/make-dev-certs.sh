#!/usr/bin/env bash
# Makes a development certificate authority, a server certificate for
# 127.0.0.1 / localhost, one client certificate per role, and an access
# policy naming them, for trying the secure setup on one machine:
#
#   deploy/make-dev-certs.sh dev-certs
#   build/server/tradecheck_server --tls_cert=dev-certs/server.crt \
#     --tls_key=dev-certs/server.key --tls_client_ca=dev-certs/ca.crt \
#     --access_policy=dev-certs/access-policy.textproto
#   build/client/tradecheck --ca=dev-certs/ca.crt --cert=dev-certs/customs.crt \
#     --key=dev-certs/customs.key check examples/customs/my-palm-oil-import.json
#
# Each client certificate carries its identity twice: as a SPIFFE-style URI
# SAN (spiffe://tradecheck.dev/ROLE/NAME, what the server uses) and as the
# subject CN. Keys are EC P-256, written 0600; the CA key stays in the
# directory, so it is for development only. Never use these in production.
#
# Exporter A owns MY-EXP-SIMEDARBY-PLT-0042 (the palm-oil example), exporter
# B VN-EXP-HAIPHONG-AUDIO-0412 (the speakers dry run); a scope may list
# several ids.
set -euo pipefail

out="${1:-dev-certs}"
days="${DAYS:-30}"
domain="tradecheck.dev"
mkdir -p "$out"
chmod 0700 "$out"
umask 077

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# The CA.
key "$out/ca.key"
openssl req -x509 -new -key "$out/ca.key" -sha256 -days "$days" \
  -subj "/O=tradecheck development/CN=tradecheck dev CA" \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$out/ca.crt"

# sign NAME SUBJECT_CN EXTENSIONS
sign() {
  local name="$1" cn="$2" ext="$3"
  key "$out/$name.key"
  openssl req -new -key "$out/$name.key" -subj "/O=tradecheck development/CN=$cn" \
    -out "$out/$name.csr"
  printf '%s\n' "$ext" > "$out/$name.ext"
  openssl x509 -req -in "$out/$name.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
    -CAcreateserial -sha256 -days "$days" -extfile "$out/$name.ext" \
    -out "$out/$name.crt" 2>/dev/null
  rm -f "$out/$name.csr" "$out/$name.ext"
}

sign server localhost "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"

client_ext() {
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectAltName=URI:spiffe://%s/%s\n' "$domain" "$1"
}
sign customs    customs-port-klang   "$(client_ext customs/port-klang)"
sign exporter-a exporter-a           "$(client_ext exporter/exporter-a)"
sign exporter-b exporter-b           "$(client_ext exporter/exporter-b)"
sign auditor    auditor              "$(client_ext auditor/audit-office)"
sign admin      admin                "$(client_ext admin/operator)"
rm -f "$out/ca.srl"

cat > "$out/access-policy.textproto" <<POLICY
# tradecheck access policy (tradecheck.v1.AccessPolicy), made by
# deploy/make-dev-certs.sh for the development certificates beside it.
grants {
  identity: "spiffe://$domain/customs/port-klang"
  role: CALLER_ROLE_CUSTOMS
  note: "customs system, development"
}
grants {
  identity: "spiffe://$domain/exporter/exporter-a"
  role: CALLER_ROLE_EXPORTER
  exporter_ids: "MY-EXP-SIMEDARBY-PLT-0042"
}
grants {
  identity: "spiffe://$domain/exporter/exporter-b"
  role: CALLER_ROLE_EXPORTER
  exporter_ids: "VN-EXP-HAIPHONG-AUDIO-0412"
}
grants {
  identity: "spiffe://$domain/auditor/audit-office"
  role: CALLER_ROLE_AUDITOR
}
grants {
  identity: "spiffe://$domain/admin/operator"
  role: CALLER_ROLE_ADMIN
}
POLICY
chmod 0644 "$out"/*.crt "$out/access-policy.textproto"
echo "make-dev-certs: CA, server and 5 client certificates in $out (valid $days days)" >&2
