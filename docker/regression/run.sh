#!/usr/bin/env bash
# CI visual regression with the tilerender image: starts the daemon container, waits until Docker
# reports it healthy, renders docker/regression/manifest.json with `tilerender batch` from a second
# container, and compares every output with tests/golden/. Exit 0 when all match; otherwise prints
# the compare report (and writes diff images) and exits 1.
#   docker/regression/run.sh [--update]     # --update: replace goldens with this run's renders
# The goldens are mounted read-only unless --update. The same comparison runs in ctest on the
# build machine's llvmpipe (tests/golden_test.cpp), with a few goldens checked against the CPU
# reference, so an --update that blesses a wrong render fails there.
# Environment: TILERENDER_IMAGE (default tilerender), TILERENDER_PORT (default 50151),
#   TOLERANCE (per-channel, default 0), MAX_PIXELS (default 0), GOLDENS (default tests/golden),
#   OUT (default: a new temporary directory).
set -euo pipefail
cd "$(dirname "$0")/../.."
image=${TILERENDER_IMAGE:-tilerender}
port=${TILERENDER_PORT:-50151}
goldens=${GOLDENS:-tests/golden}
out=${OUT:-$(mktemp -d)}
name=tilerender-regression-$$
update=()
goldens_mount=ro  # a plain run cannot change the goldens, whatever compare does
if [ "${1:-}" = "--update" ]; then
  update=(--update)
  goldens_mount=rw
fi
mkdir -p "$out" "$goldens"
chmod 777 "$out"  # the containers run as an unprivileged user

cleanup() { docker rm -f "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
docker run -d --name "$name" --network host -e "TILERENDER_SERVER=127.0.0.1:$port" "$image" \
  --listen "127.0.0.1:$port" --data-root /data >/dev/null
for _ in $(seq 1 120); do
  status=$(docker inspect --format '{{.State.Health.Status}}' "$name" 2>/dev/null || echo gone)
  [ "$status" = healthy ] && break
  [ "$status" = gone ] || [ "$(docker inspect --format '{{.State.Running}}' "$name")" = false ] && break
  sleep 1
done
if [ "$status" != healthy ]; then
  echo "regression: daemon container did not become healthy ($status); its log:" >&2
  docker logs "$name" >&2 || true
  exit 1
fi

docker run --rm --network host -v "$PWD:/work:ro" -v "$(cd "$out" && pwd):/out" --entrypoint tilerender \
  "$image" --server "127.0.0.1:$port" batch /work/docker/regression/manifest.json --out-dir /out
docker run --rm -v "$(cd "$goldens" && pwd):/goldens:$goldens_mount" -v "$(cd "$out" && pwd):/out" \
  --user "$(id -u):$(id -g)" --entrypoint tilerender "$image" \
  compare --goldens /goldens --actual /out --tolerance "${TOLERANCE:-0}" --max-pixels "${MAX_PIXELS:-0}" \
  --diff-dir /out/diffs "${update[@]}"
echo "regression: renders in $out"
