#!/usr/bin/env bash
# Installs the Debian 12 packages that build, test and benchmark tilerender.
# Idempotent, quiet and non-interactive: packages already present are skipped without touching apt.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config
  # the fuzz harnesses (scripts/fuzz.sh): clang with libFuzzer (libclang-rt-14-dev on bookworm) and
  # llvm-symbolizer for readable sanitizer stacks
  clang libclang-rt-14-dev llvm-14
  # GL through EGL, glad generated at build time, Mesa llvmpipe for machines without a GPU
  python3-glad libegl-dev libegl1 libegl-mesa0 libgl1-mesa-dri
  # core libraries
  libpng-dev libspdlog-dev libfmt-dev libtiff-dev zlib1g-dev nlohmann-json3-dev
  # Zarr codecs, OME-XML, whole-slide formats, JPEG and WebP output
  libblosc-dev liblz4-dev libzstd-dev libpugixml-dev libopenslide-dev libturbojpeg0-dev libwebp-dev
  # gRPC service and client
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libcli11-dev nlohmann-json3-dev
  # HTTP front end (IIIF)
  libcpp-httplib-dev
  # the Python client (installed into a venv in the build tree) and its tests
  # (setuptools and wheel build it offline: pip install --no-build-isolation --no-index)
  python3-venv python3-setuptools python3-wheel python3-grpcio python3-protobuf python3-numpy
  python3-pytest python3-matplotlib
  # promtool lints /metrics in the tests; openssl makes the TLS tests' certificates
  prometheus openssl
  # tests and benchmarks (peers: libvips and its tools, IIPImage under lighttpd; Chromium runs the
  # web viewer's test)
  libgtest-dev libgmock-dev libbenchmark-dev libvips-dev libvips-tools chromium iipimage-server lighttpd
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm install the web viewer's OpenSeadragon and its test driver (npm registry).
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The web viewer's npm packages as package-lock.json pins them (node_modules is never committed).
web="$(dirname "$0")/../server/web"
if [ ! -d "$web/node_modules/openseadragon" ] || [ ! -d "$web/node_modules/playwright-core" ] ||
   [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
  echo "install-deps: npm ci in server/web"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
