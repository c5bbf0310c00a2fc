#!/usr/bin/env bash
# The seed corpus of every fuzz harness, made fresh in OUT/<harness>/ (never committed):
#   - ../shared/testdata's files as they are (PngSuite, libtiff's images, OpenSlide's fixtures), and
#     its OME-Zarr stores packed the way fuzz_zarr.cpp unpacks them;
#   - NPY files numpy writes (every dtype, byte order, layout and header version we read) and a few
#     small Zarr stores with the codecs the shared ones lack, made here with python3;
#   - the committed seeds in tests/fuzz/seeds/<harness>/ and the repository's own sample files.
# Usage: make_corpus.sh OUT [TESTDATA]   (TESTDATA defaults to ../shared/testdata beside the checkout)
set -euo pipefail
src="$(cd "$(dirname "$0")/../.." && pwd)"
out=${1:?usage: make_corpus.sh OUT [TESTDATA]}
testdata=${2:-$src/../shared/testdata}
rm -rf "$out"
mkdir -p "$out"/{png,tiff,npy,zarr,openslide,ome_xml,iiif,batch}

copy() {  # copy DEST FILES...: those that exist
  local dest=$1
  shift
  for f in "$@"; do
    if [ -f "$f" ]; then cp "$f" "$out/$dest/"; fi
  done
}

if [ -d "$testdata" ]; then
  copy png "$testdata"/pngsuite/*.png "$testdata"/openslide/boxes.png
  copy tiff "$testdata"/libtiff/*.tif "$testdata"/libtiff/*.tiff "$testdata"/openslide/*.tiff "$testdata"/openslide/*.svs
  copy openslide "$testdata"/openslide/*.svs "$testdata"/openslide/*.tiff "$testdata"/openslide/*.dcm
  # An OME-Zarr store packed: '2' or '3', group metadata, then per dataset its array metadata and
  # its first chunk, separated by "\n--\n" lines.
  for store in "$testdata"/ome-zarr/*.zarr; do
    [ -d "$store" ] || continue
    if [ -f "$store/zarr.json" ]; then v=3 group=zarr.json array=zarr.json; else v=2 group=.zattrs array=.zarray; fi
    {
      printf '%s' "$v"
      cat "$store/$group"
      for d in 0 1 2; do
        [ -f "$store/$d/$array" ] || break
        printf '\n--\n'
        cat "$store/$d/$array"
        chunk=$(find "$store/$d" -type f ! -name zarr.json ! -name .zarray | sort | head -n 1)
        if [ -n "$chunk" ]; then
          printf '\n--\n'
          cat "$chunk"
        fi
      done
    } >"$out/zarr/$(basename "$store").packed"
  done
else
  echo "make_corpus: no $testdata; only the committed seeds" >&2
fi

copy png "$src"/tests/data/*.png
copy npy "$src"/tests/data/*.npy
copy batch "$src"/docker/regression/manifest.json
for h in png tiff npy zarr openslide ome_xml iiif batch; do
  if [ -d "$src/tests/fuzz/seeds/$h" ]; then cp "$src/tests/fuzz/seeds/$h"/* "$out/$h/"; fi
done

# Debian's python3 (with python3-numpy), not one a version manager put first on PATH.
python=/usr/bin/python3
[ -x "$python" ] || python=python3
"$python" - "$out" <<'EOF'
import gzip, json, os, struct, sys, zlib
out = sys.argv[1]

# NPY: what numpy writes.
try:
    import numpy as np
    from numpy.lib import format as npf
    a = (np.arange(48) * 5).reshape(6, 8)
    arrays = {
        "u1": a.astype("u1"), "u2le": a.astype("<u2") * 300, "u2be": a.astype(">u2") * 300,
        "f4": a.astype("<f4") / 7, "f8be": a.astype(">f8") / 3, "i2": a.astype("<i2") - 100,
        "i4": a.astype("<i4") - 1000, "u4": a.astype("<u4"), "bool": (a % 3 == 0),
        "fortran": np.asfortranarray(a.astype("<u2")), "rgb": np.stack([a, a + 1, a + 2], -1).astype("u1"),
        "rgba": np.stack([a, a, a, a], -1).astype("u1"), "planes": np.stack([a, a * 2], -1).astype("<u2"),
        "f4nan": np.where(a % 5 == 0, np.nan, a).astype("<f4"), "f2": a.astype("<f2"),
        "one": np.zeros((1, 1), "u1"), "vector": np.arange(10, dtype="u1"),
    }
    for name, arr in arrays.items():
        np.save(os.path.join(out, "npy", name + ".npy"), arr, allow_pickle=False)
    for version in ((2, 0), (3, 0)):
        with open(os.path.join(out, "npy", "v%d.npy" % version[0]), "wb") as f:
            npf.write_array(f, a.astype("<u2"), version=version)
except ImportError:
    print("make_corpus: no numpy; NPY seeds from tests/data only", file=sys.stderr)

# Zarr stores with the codecs and layouts the shared stores lack (packed as above).
def crc32c(data):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (0x82F63B78 ^ (c >> 1)) if c & 1 else c >> 1
        table.append(c)
    c = 0xFFFFFFFF
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF

def axes(names):
    return [{"name": n, "type": "channel" if n == "c" else "space", **({"unit": "micrometer"} if n in "yx" else {})} for n in names]

def pack(name, version, group, levels):
    parts = [json.dumps(group, indent=1)]
    for meta, chunk in levels:
        parts.append(json.dumps(meta, indent=1))
        parts.append(chunk)
    body = b"\n--\n".join(p.encode() if isinstance(p, str) else p for p in parts)
    with open(os.path.join(out, "zarr", name + ".packed"), "wb") as f:
        f.write(str(version).encode() + body)

def group_v2(names, n):
    return {"multiscales": [{"version": "0.4", "axes": axes(names),
                             "datasets": [{"path": str(i), "coordinateTransformations": [{"type": "scale", "scale": [1.0] * (len(names) - 2) + [2.0 ** i] * 2}]} for i in range(n)]}],
            "omero": {"channels": [{"label": "DAPI", "color": "0000FF", "window": {"start": 0, "end": 500}}]}}

pixels = bytes(range(64)) * 2  # 8 x 8 uint16
for codec, data in (("zlib", zlib.compress(pixels)), ("gzip", gzip.compress(pixels)), (None, pixels)):
    meta = {"zarr_format": 2, "shape": [8, 8], "chunks": [8, 8], "dtype": "<u2", "fill_value": 0, "order": "C",
            "filters": None, "compressor": {"id": codec} if codec else None}
    half = dict(meta, shape=[4, 4], chunks=[4, 4], compressor=None)
    pack("v2_%s" % (codec or "raw"), 2, group_v2("yx", 2), [(meta, data), (half, bytes(32))])
fmeta = {"zarr_format": 2, "shape": [1, 8, 8], "chunks": [1, 4, 8], "dtype": ">u2", "fill_value": 7, "order": "F",
         "filters": None, "compressor": None, "dimension_separator": "/"}
pack("v2_fortran_be", 2, group_v2("cyx", 1), [(fmeta, pixels[:64])])
v3 = {"zarr_format": 3, "node_type": "array", "shape": [1, 1, 8, 8], "data_type": "float32",
      "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [1, 1, 8, 4]}},
      "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}}, "fill_value": "NaN",
      "codecs": [{"name": "transpose", "configuration": {"order": [0, 1, 3, 2]}},
                 {"name": "bytes", "configuration": {"endian": "little"}}, {"name": "gzip", "configuration": {"level": 1}},
                 {"name": "crc32c"}],
      "dimension_names": ["t", "z", "y", "x"]}
raw = struct.pack("<32f", *range(32))
body = gzip.compress(raw)
pack("v3_transpose_gzip_crc", 3,
     {"zarr_format": 3, "node_type": "group", "attributes": {"ome": {"version": "0.5", "multiscales": [
         {"axes": axes("tzyx"), "datasets": [{"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1, 0.5, 0.5]}]}]}]}}},
     [(v3, body + struct.pack("<I", crc32c(body)))])
EOF

for h in png tiff npy zarr openslide ome_xml iiif batch; do
  printf '%s %s\n' "$h" "$(find "$out/$h" -type f | wc -l)"
done >"$out/counts.txt"
