#!/usr/bin/env python3
"""Analysis views (#15) on the real daemon: a labels layer over a uint16 image, auto-contrast, probe
and profile. Writes a SIDE x SIDE uint16 image and a labels image of the same size (uint32 ids in an
NPY, stored as R32UI), loads both, and reports GPU bytes and render latencies (median of REPS after
the first view) of: the image alone (the baseline in the same run), the labels over it (filled, with a
color table, as contours), the image with auto-contrast (compute histograms; and, from a second
daemon started with --gpu-histogram false, the readback); and probe/profile latencies.

    bench/analysis_bench.py [--side 20000] [--reps 5] [--data-dir /tmp/tilerender-bench/analysis]
Needs build/ (tilerenderd, the Python client in build/pyenv: run it with build/pyenv/bin/python).
"""
import argparse
import os
import pathlib
import statistics
import subprocess
import time

import numpy as np

import tilerender as tr

ROOT = pathlib.Path(__file__).resolve().parents[1]


def write_files(d: pathlib.Path, side: int) -> None:
    img, lab = d / f"img{side}.npy", d / f"labels{side}.npy"
    if img.exists() and lab.exists():
        return
    # Band by band through memory maps: never the whole arrays in memory.
    a = np.lib.format.open_memmap(img, mode="w+", dtype=np.uint16, shape=(side, side))
    b = np.lib.format.open_memmap(lab, mode="w+", dtype=np.uint32, shape=(side, side))
    x = np.arange(side)
    for y0 in range(0, side, 1024):
        y = np.arange(y0, min(side, y0 + 1024))[:, None]
        a[y0:y0 + len(y)] = (30000 + 20000 * np.sin(x / 300.0) * np.cos(y / 400.0)).astype(np.uint16)
        # Cells about 80 pixels across on a jittered grid; ids up to ~62,500, 0 between them.
        cx, cy = x // 80, y // 80
        inside = ((x % 80 - 40) ** 2 + (y % 80 - 40) ** 2) < 34 ** 2
        b[y0:y0 + len(y)] = np.where(inside, cy * (side // 80 + 1) + cx + 1, 0).astype(np.uint32)
    a.flush()
    b.flush()
    del a, b


def timed(fn, reps):
    first_t = time.perf_counter()
    first = fn()
    first_ms = (time.perf_counter() - first_t) * 1e3
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return first, first_ms, statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--side", type=int, default=20000)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--data-dir", default="/tmp/tilerender-bench/analysis")
    args = p.parse_args()
    d = pathlib.Path(args.data_dir)
    d.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    write_files(d, args.side)
    print(f"# analysis_bench: {args.side} x {args.side}, files ready in {time.perf_counter() - t:.1f} s")
    daemon = subprocess.Popen([str(ROOT / "build/server/tilerenderd"), "--listen", "127.0.0.1:0", "--data-root", str(d),
                               "--gpu-histogram", "true"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        address = daemon.stdout.readline().decode().split(" on ")[-1].strip()
        with tr.Client(address, timeout=600) as c:
            info = c.info()
            print(f"GL: {info.gl_renderer} | {info.gl_version} | reps {args.reps} (median after the first view)\n")
            img = c.load(f"img{args.side}.npy", "img")
            lab = c.load(f"labels{args.side}.npy", "labels", labels=True)
            print("| image | type | level-0 GPU bytes / raw | all levels GPU bytes |")
            print("| --- | --- | ---: | ---: |")
            for i, raw in ((img, 2), (lab, 4)):
                pr = i.proto
                print(f"| {pr.image_id} | {tr.ImageInfo.from_proto(pr).dtype} | {pr.gpu_bytes_level0 / (raw * args.side ** 2):.3f} "
                      f"| {pr.gpu_bytes / 2 ** 20:.0f} MiB |")
            print()
            limits = {}
            table = {i * 7 + 1: (i % 2, 0.5, 1 - i % 2) for i in range(1000)}
            views = {
                "fit 1024x768": dict(size=(1024, 768)),
                "1:1 1024x768": dict(size=(1024, 768), zoom=1, center=(args.side / 2, args.side / 2)),
            }
            print("| view | what | first view ms | median ms |")
            print("| --- | --- | ---: | ---: |")
            for vname, view in views.items():
                cases = {
                    "uint16 image alone (baseline)": dict(layers=[{"image": "img", "colormap": "gray"}]),
                    "+ labels layer over it": dict(layers=[{"image": "img", "colormap": "gray"},
                                                           {"image": "labels", "labels": {"seed": 1}, "opacity": 0.6}]),
                    "+ labels, 1000-entry color table": dict(layers=[{"image": "img", "colormap": "gray"},
                                                                     {"image": "labels", "opacity": 0.6,
                                                                      "labels": {"seed": 1, "colors": table}}]),
                    "+ labels as 2-pixel contours": dict(layers=[{"image": "img", "colormap": "gray"},
                                                                 {"image": "labels", "labels": {"seed": 1, "contour": 2}}]),
                    "image with auto-contrast 0.5/99.5 (GPU histogram)": dict(layers=[{"image": "img", "colormap": "gray",
                                                                                      "auto_contrast": (0.5, 99.5)}]),
                }
                for cname, layers in cases.items():
                    r, first_ms, med = timed(lambda: c.render(**layers, **view, format="png"), args.reps)
                    print(f"| {vname} | {cname} | {first_ms:.1f} | {med:.1f} |")
                    if "auto-contrast" in cname:
                        limits[vname] = r.contrasts
            print()
            rng = np.random.default_rng(0)
            pts = rng.uniform(0, args.side, (1000, 2))
            print("| call | median ms |")
            print("| --- | ---: |")
            for name, fn in {
                "probe, 1000 points, 2 layers": lambda: c.probe(["img", "labels"], pts),
                "probe, 1 point, 2 layers": lambda: c.probe(["img", "labels"], pts[:1]),
                "profile, 4096 samples, linear": lambda: c.profile("img", (0, 0), (args.side - 1, args.side - 1),
                                                                   samples=4096, interpolation="linear"),
            }.items():
                _, _, med = timed(fn, args.reps)
                print(f"| {name} | {med:.1f} |")
    finally:
        daemon.terminate()
        daemon.wait(30)
    # The same auto-contrast renders read back and selected on the CPU (the fallback without
    # compute shaders), from a second daemon: the limits must be the same.
    daemon = subprocess.Popen([str(ROOT / "build/server/tilerenderd"), "--listen", "127.0.0.1:0", "--data-root", str(d),
                               "--gpu-histogram", "false"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        address = daemon.stdout.readline().decode().split(" on ")[-1].strip()
        with tr.Client(address, timeout=600) as c:
            c.load(f"img{args.side}.npy", "img")
            print()
            print("| view | what | first view ms | median ms | limits |")
            print("| --- | --- | ---: | ---: | --- |")
            for vname, view in views.items():
                c.render("img", **view, format="png")  # levels derived first, as in the first daemon
                r, first_ms, med = timed(lambda: c.render(layers=[{"image": "img", "colormap": "gray",
                                                                   "auto_contrast": (0.5, 99.5)}], **view, format="png"),
                                         args.reps)
                same = "same" if r.contrasts == limits[vname] else f"DIFFER {r.contrasts} vs {limits[vname]}"
                print(f"| {vname} | auto-contrast 0.5/99.5 (readback, CPU selection) | {first_ms:.1f} | {med:.1f} | {same} |")
    finally:
        daemon.terminate()
        daemon.wait(30)


if __name__ == "__main__":
    main()
