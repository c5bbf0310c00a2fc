#!/usr/bin/env bash
# The scale-out recipe end to end on this machine: a Docker engine (../shared/tools/docker-env.sh),
# the tilerender and nginx images, docker/compose.yaml with three replicas and the balancer, then
# docker/compose_check.py (300 renders over 6 images, one replica per image, a replica killed,
# throughput with 3 and 1 replicas), then everything torn down.
#   docker/compose-test.sh        (REBUILD=1 rebuilds the images; PYTHON: a python with tilerender)
set -euo pipefail
cd "$(dirname "$0")/.."
../shared/tools/docker-env.sh
if ! command -v docker-compose >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
fi
if [ "${REBUILD:-0}" = 1 ] || ! docker image inspect tilerender >/dev/null 2>&1; then
  docker build -q --network host -f docker/Dockerfile -t tilerender .
fi
if [ "${REBUILD:-0}" = 1 ] || ! docker image inspect tilerender-nginx >/dev/null 2>&1; then
  docker build -q --network host -f docker/nginx/Dockerfile -t tilerender-nginx docker/nginx
fi
py=${PYTHON:-build/pyenv/bin/python}
if ! "$py" -c "import tilerender" 2>/dev/null; then
  echo "compose-test: no tilerender Python client in $py (run scripts/test.sh, or set PYTHON)" >&2
  exit 1
fi
data=$(mktemp -d /tmp/tilerender-compose-XXXXXX)
export TILERENDER_DATA=$data
compose=(docker-compose -p tilerender-scale -f docker/compose.yaml)
cleanup() { "${compose[@]}" down -t 5 >/dev/null 2>&1 || true; rm -rf "$data"; }
trap cleanup EXIT
"$py" docker/compose_check.py make-data "$data"
"${compose[@]}" up -d 2>&1 | grep -v "^Creating\|^Starting" || true
"$py" docker/compose_check.py run
