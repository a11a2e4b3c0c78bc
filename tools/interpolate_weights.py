#!/usr/bin/env python3
"""Network interpolation (ESRGAN, Wang et al. 2018): alpha * A + (1 - alpha) * B, parameter by parameter.

Two trainings of one architecture, an L1 generator (A) and the same generator after
its adversarial phase (B), span a line from the most faithful to the sharpest
result; a point on it is chosen on data kept out of the benchmark (srgan_x4.md).

    python tools/interpolate_weights.py A.pt B.pt --alpha 0.5 --out srgan_x4.pt
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import torch


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--alpha", type=float, required=True, help="weight of A, 0..1")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    a = torch.load(args.a, map_location="cpu", weights_only=True)
    b = torch.load(args.b, map_location="cpu", weights_only=True)
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        raise SystemExit("interpolate_weights: the two files are not the same architecture")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: args.alpha * a[k] + (1 - args.alpha) * b[k] for k in a}, args.out)
    print(json.dumps({"weights": str(args.out), "sha256": hashlib.sha256(args.out.read_bytes()).hexdigest()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
