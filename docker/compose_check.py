"""The scale-out recipe's checks (docker/compose-test.sh runs them; needs the tilerender Python client).

    compose_check.py make-data DIR   six uint16 images under DIR/scans
    compose_check.py run             the checks against docker/compose.yaml's services

run: renders 300 views over the 6 images through the balancer, checks that each image was served by
exactly one replica (their image lists and /metrics), measures throughput with 3 replicas, kills one
replica and checks that 300 more renders all succeed (its images autoloaded by the others), then
measures throughput with 1 replica. Prints a markdown table; exits non-zero on any failed check.
"""

import concurrent.futures
import os
import re
import subprocess
import sys
import time
import urllib.request

import numpy as np

import tilerender as tr

BALANCER = "127.0.0.1:50060"
REPLICAS = {1: ("127.0.0.1:50061", "127.0.0.1:9161"), 2: ("127.0.0.1:50062", "127.0.0.1:9162"),
            3: ("127.0.0.1:50063", "127.0.0.1:9163")}
IMAGES = [f"path:scans/img{k}.npy" for k in range(6)]
COMPOSE = ["docker-compose", "-p", "tilerender-scale", "-f", os.path.join(os.path.dirname(__file__), "compose.yaml")]


def make_data(root: str) -> None:
    os.makedirs(os.path.join(root, "scans"), exist_ok=True)
    y, x = np.mgrid[0:2000, 0:3000]
    for k in range(6):
        a = (30000 + 20000 * np.sin(x / (40 + 9 * k)) * np.cos(y / (55 + 7 * k))).astype(np.uint16)
        np.save(os.path.join(root, "scans", f"img{k}.npy"), a)
    for dirpath, _, files in os.walk(root):
        os.chmod(dirpath, 0o755)
        for f in files:
            os.chmod(os.path.join(dirpath, f), 0o644)


def metric(address: str, name: str) -> float:
    text = urllib.request.urlopen(f"http://{address}/metrics", timeout=10).read().decode()
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def render(client: tr.Client, i: int) -> None:
    rng = np.random.default_rng(i)
    client.render(IMAGES[i % 6], size=(512, 512), center=(float(rng.uniform(300, 2700)), float(rng.uniform(300, 1700))),
                  zoom=float(rng.choice([0.25, 0.5, 1.0])), colormap="viridis", format="jpeg")


def renders_through_balancer(n: int, start: int, threads: int = 4) -> float:
    """n renders on `threads` connections. Exits, naming the first error, unless every one succeeds;
    returns renders per second."""
    clients = [tr.Client(BALANCER, timeout=120) for _ in range(threads)]
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(render, clients[i % threads], start + i) for i in range(n)]
        failed = [f.exception() for f in futures if f.exception() is not None]
    rate = n / (time.time() - t0)
    for c in clients:
        c.close()
    check(not failed, f"{n} renders through nginx: {n - len(failed)} served"
                      + (f" (first error: {failed[0]})" if failed else ""))
    return rate


def served_by(alive):
    out = {}
    for r in alive:
        with tr.Client(REPLICAS[r][0], timeout=30) as c:
            out[r] = sorted(i.id for i in c.images())
    return out


def check(cond: bool, what: str) -> None:
    print(("ok    " if cond else "FAIL  ") + what, flush=True)
    if not cond:
        sys.exit(1)


def run() -> None:
    for r, (address, _) in REPLICAS.items():
        with tr.Client(address) as c:
            c.wait_ready(180)
            deadline = time.time() + 180
            while c.health() != "SERVING" and time.time() < deadline:
                time.sleep(0.5)
    with tr.Client(BALANCER) as c:
        c.wait_ready(60)
    renders0 = {r: metric(m, "tilerender_renders_total") for r, (_, m) in REPLICAS.items()}

    renders_through_balancer(300, 0)
    owners = served_by(REPLICAS)
    counts = {r: metric(m, "tilerender_renders_total") - renders0[r] for r, (_, m) in REPLICAS.items()}
    print("| replica | images it loaded | renders it served |\n| --- | --- | ---: |")
    for r in REPLICAS:
        print(f"| {r} | {', '.join(i.split('/')[-1] for i in owners[r]) or '-'} | {counts[r]:.0f} |")
    all_ids = [i for ids in owners.values() for i in ids]
    check(sorted(all_ids) == sorted(IMAGES), "300 renders through nginx: each of the 6 images was loaded by exactly one replica")
    check(sum(counts.values()) == 300, "the replicas' /metrics count the 300 renders once each")

    rate3 = renders_through_balancer(600, 1000, threads=6)
    victim = max(owners, key=lambda r: (len(owners[r]), r))
    subprocess.run(COMPOSE + ["kill", f"tilerender-{victim}"], check=True, capture_output=True)
    alive = [r for r in REPLICAS if r != victim]
    print(f"replica {victim} killed ({', '.join(owners[victim]) or 'no images'})", flush=True)
    renders_through_balancer(300, 2000)
    after = served_by(alive)
    moved = [i for i in owners[victim] if any(i in after[r] for r in alive)]
    check(sorted(moved) == sorted(owners[victim]), "its images were autoloaded by the others")

    stop = alive[1:]
    subprocess.run(COMPOSE + ["stop", "-t", "5"] + [f"tilerender-{r}" for r in stop], check=True, capture_output=True)
    rate1 = renders_through_balancer(600, 3000, threads=6)
    print(f"\n| replicas | renders/s (512x512 JPEG, 6 connections) |\n| --- | ---: |\n| 3 | {rate3:.1f} |\n| 1 | {rate1:.1f} |")
    print(f"SUMMARY compose 3 replicas {rate3:.1f}/s, 1 replica {rate1:.1f}/s; failover ok")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make-data":
        make_data(sys.argv[2])
    elif len(sys.argv) == 2 and sys.argv[1] == "run":
        run()
    else:
        sys.exit(__doc__)
