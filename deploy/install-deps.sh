#!/usr/bin/env bash
# Installs every Debian 12 package tradecheck needs to build, test and
# benchmark. Idempotent: when everything is present it does nothing (and
# needs no network). Run as root, or with sudo available.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config git
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libssl-dev
  libspdlog-dev                    # the server's JSON log (server/logging.h)
  libcpp-httplib-dev               # the Prometheus metrics endpoint
  libsystemd-dev                   # sd_notify for the Type=notify unit
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  grpc-proto                       # health/reflection protos for tests
  python3 python3-grpcio python3-protobuf   # the Python client test
  python3-cryptography                     # the Python Merkle walkthrough (Ed25519)
  clang libclang-rt-14-dev         # libFuzzer + ASan/UBSan (fuzz/run.sh)
  iso-codes                        # ISO 4217 source of agreements/reference/iso4217.tab
  openssl                          # deploy/make-dev-certs.sh (development CA and certificates)
  python3-prometheus-client        # the metrics test parses a real scrape
  chromium                         # renders the HTML audit report in queries_e2e_test
)
# deploy/k8s/validate.sh (kubernetes-models) needs node and npm. A machine
# with Node.js from elsewhere (NodeSource bundles npm, and Debian's npm
# package then conflicts with it) keeps what it has.
NODE_PACKAGES=(nodejs npm)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  missing+=("${NODE_PACKAGES[@]}")
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
