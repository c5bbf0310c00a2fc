#!/usr/bin/env bash
# The main job: installs what it needs, builds, starts tilerenderd in the background on the built-in
# synthetic image (or on IMAGE, uploaded from this machine), renders PNGs and prints their paths.
#   scripts/run.sh [IMAGE.png|.tif|.npy]
# Environment: TILERENDER_PORT (default 50051), TILERENDER_HTTP_PORT (default 8080: IIIF and the
# web viewer), BUILD_DIR (default build), OUT_DIR (default out).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build_dir=${BUILD_DIR:-build}
out_dir=${OUT_DIR:-out}
port=${TILERENDER_PORT:-50051}
server=127.0.0.1:$port
http=127.0.0.1:${TILERENDER_HTTP_PORT:-8080}
mkdir -p "$out_dir"

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" --target tilerenderd tilerender
cli="$build_dir/client/tilerender --server $server"

# A daemon from an earlier run goes first.
if [ -f "$out_dir/tilerenderd.pid" ] && kill -0 "$(cat "$out_dir/tilerenderd.pid")" 2>/dev/null; then
  kill "$(cat "$out_dir/tilerenderd.pid")"
  while kill -0 "$(cat "$out_dir/tilerenderd.pid")" 2>/dev/null; do sleep 0.2; done
fi
demo_flag=--demo
[ $# -gt 0 ] && demo_flag=
"$build_dir/server/tilerenderd" --listen "$server" --http-listen "$http" --data-root "$PWD" $demo_flag \
  >"$out_dir/tilerenderd.out" 2>"$out_dir/tilerenderd.log" &
echo $! >"$out_dir/tilerenderd.pid"
if ! $cli health --wait 120 >/dev/null; then
  echo "tilerenderd did not start; its log:" >&2
  cat "$out_dir/tilerenderd.log" >&2
  exit 1
fi

if [ $# -gt 0 ]; then
  id=$(basename "$1")
  $cli upload "$1" --id "$id"
  $cli render --id "$id" --size 1280x800 --interp linear -o "$out_dir/render.png" >/dev/null
  echo "$out_dir/render.png"
else
  $cli render --id demo --size 1280x800 --colormap viridis --interp linear -o "$out_dir/demo.png" >/dev/null
  $cli render --id demo --size 800x600 --center 9000,2500 --zoom 3 --rotate 30 --colormap magma \
    --interp linear -o "$out_dir/demo-zoom.png" >/dev/null
  echo "$out_dir/demo.png"
  echo "$out_dir/demo-zoom.png"
fi
echo "tilerenderd is running on $server, web viewer and IIIF on http://$http/" \
  "(pid $(cat "$out_dir/tilerenderd.pid"), log $out_dir/tilerenderd.log);" \
  "try: $cli info   stop: kill \$(cat $out_dir/tilerenderd.pid)" >&2
