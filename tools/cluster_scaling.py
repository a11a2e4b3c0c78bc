"""Batch throughput on one Ray node against two, on this machine (docs/cluster.md, "Scaling, measured").

Makes the clips, starts a real Ray cluster with ray.cluster_utils (a head with
no CPUs, then 1 or 2 worker nodes of --cpus logical CPUs each, all on
127.0.0.1), runs `vidclear batch --ray` over the clips into a fresh folder for
each, and prints the wall times and frames per second as a table and JSON.
Each file's encoder and inference are held to one thread, so a task's CPU
use matches the one CPU Ray gives it.

    python tools/cluster_scaling.py --clips 8 --frames 90 --size 320x240
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # every node on 127.0.0.1

from media import make_clip  # noqa: E402


def run(nodes: int, cpus: float, clips: Path, out: Path, config: Path) -> dict:
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    for _ in range(nodes):
        cluster.add_node(num_cpus=cpus)
    cluster.wait_for_nodes()
    try:
        start = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "vidclear", "batch", str(clips), "-o", str(out), "--config",
                            str(config), "--ray", cluster.address], cwd=REPO, capture_output=True, text=True)
        wall = time.perf_counter() - start
    finally:
        cluster.shutdown()
    if r.returncode != 0:
        raise SystemExit(f"batch on {nodes} node(s) failed:\n{r.stderr[-2000:]}")
    rows = [line.split() for line in r.stdout.splitlines()[1:] if " done " in line]
    frames = sum(int(row[2]) for row in rows)
    return {"nodes": nodes, "files": len(rows), "frames": frames, "wall_s": round(wall, 2),
            "fps": round(frames / wall, 2), "nodes_used": len({row[4] for row in rows})}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--frames", type=int, default=90)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--model", default="espcn-x2")
    ap.add_argument("--cpus", type=float, default=1, help="logical CPUs per worker node (default 1)")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "clips").mkdir()
        for i in range(args.clips):
            make_clip(tmp / "clips" / f"clip{i:02d}.mp4", w, h, args.frames)
        config = tmp / "batch.yaml"
        config.write_text(f"model: {args.model}\nencoder: {{threads: 1}}\npipeline: {{infer_workers: 1}}\n"
                          f"cluster: {{num_cpus: {args.cpus}}}\n")
        results = [run(n, args.cpus, tmp / "clips", tmp / f"out{n}", config) for n in (1, 2)]
    print(f"{args.clips} clips of {args.frames} frames at {args.size}, {args.model}, `vidclear batch --ray`, "
          f"worker nodes of {args.cpus:g} CPU on one machine ({os.cpu_count()} cores)")
    print("| worker nodes | wall s | fps | nodes that did work |\n|---|---|---|---|")
    for r in results:
        print(f"| {r['nodes']} | {r['wall_s']} | {r['fps']} | {r['nodes_used']} |")
    print(f"two nodes against one: {results[1]['fps'] / results[0]['fps']:.2f}x")
    print(json.dumps({"clips": args.clips, "frames": args.frames, "size": args.size, "model": args.model,
                      "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
