#!/usr/bin/env python3
"""Train the low-light network on T91 + BSD200 darkened on the fly.

Each batch takes random clean RGB patches (flips, 90-degree turns, brightness
+-20%), darkens them with vidclear.training.degrade (ranges wider than the
evaluation set's) and learns to restore them with L1 + SSIM. This trains the
restoring trunk; the brightness head that ships is then fitted on whole images
by tools/fit_brightness_head.py (the model card lists all the stages).
Progress lines report the mean PSNR on ../shared/data/lowlight/synthetic_set14
for information only: nothing is selected on it; the weights are the last step's.
With --val-every 0 they report the loss alone and synthetic_set14 is not read
(a GPU machine gets only the training images). On a CUDA device the patches
are darkened there, with noise from a CUDA generator of the same seed, so a GPU
run draws other noise than a CPU run (on a CPU the degradation of a 64-patch
batch takes longer than the network's step on a GPU).

    python tools/train_lowlight.py --steps 6000 --out /tmp/lowlight_stage1.pt
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidclear.evaluation.lowlight import load_lowlight_pairs, read_rgb_float, score_lowlight  # noqa: E402
from vidclear.models.lowlight import LowLightNet  # noqa: E402
from vidclear.training.degrade import DegradeRanges, degrade  # noqa: E402
from vidclear.shared_data import SHARED_DATA  # noqa: E402
from vidclear.training.losses import L1SSIMLoss  # noqa: E402
from vidclear.training.loop import (  # noqa: E402
    Optimisation,
    add_run_arguments,
    due,
    load_checkpoint,
    prepare_run,
    save_checkpoint,
    training_images,
)


class CleanPatches:
    def __init__(self, paths: list[Path], patch: int, seed: int, brightness: float = 0.2) -> None:
        self.patch = patch
        self.brightness = brightness
        self.rng = np.random.default_rng(seed)
        self.images = [read_rgb_float(p) for p in paths]
        self.images = [im for im in self.images if min(im.shape[:2]) >= patch]
        areas = np.array([im.shape[0] * im.shape[1] for im in self.images], np.float64)
        self.weights = areas / areas.sum()

    def batch(self, n: int) -> torch.Tensor:
        p = self.patch
        out = np.empty((n, p, p, 3), np.float32)
        for j, i in enumerate(self.rng.choice(len(self.images), size=n, p=self.weights)):
            im = self.images[i]
            y = int(self.rng.integers(0, im.shape[0] - p + 1))
            x = int(self.rng.integers(0, im.shape[1] - p + 1))
            a = im[y : y + p, x : x + p]
            k = int(self.rng.integers(0, 8))
            if k & 4:
                a = a.transpose(1, 0, 2)
            if k & 2:
                a = a[::-1]
            if k & 1:
                a = a[:, ::-1]
            out[j] = np.clip(a * self.rng.uniform(1 - self.brightness, 1 + self.brightness), 0, 1)
        return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=6000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--patch", type=int, default=96)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--ssim-weight", type=float, default=0.2)
    ap.add_argument("--brightness", type=float, default=0.2, help="random brightness of the clean patches, +-")
    ap.add_argument("--head", choices=("linear", "mlp"), default="linear",
                    help="brightness head during patch training (the shipped one is fitted afterwards on whole "
                         "images by tools/fit_brightness_head.py)")
    ap.add_argument("--data", type=Path, default=SHARED_DATA)
    add_run_arguments(ap, ckpt_every=500)
    args = ap.parse_args(argv)

    device, ckpt_path = prepare_run(args)
    gen = torch.Generator(device).manual_seed(args.seed)  # beside the patches: on CUDA they are darkened there

    patches = CleanPatches(training_images("train_lowlight", args.data / "sr"), args.patch, args.seed, args.brightness)
    val = load_lowlight_pairs(args.data / "lowlight" / "synthetic_set14") if args.val_every else None
    ranges = DegradeRanges()
    print(f"train_lowlight: {len(patches.images)} training images, ranges {ranges}, device {device}", flush=True)

    model = LowLightNet(head=args.head).to(device)
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location=device, weights_only=True))
        print(f"train_lowlight: starting from {args.init}", flush=True)
    optim = Optimisation(torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4), args.steps, device)
    criterion = L1SSIMLoss(args.ssim_weight).to(device)
    step = 0
    if args.resume and ckpt_path.exists():
        step, rng = load_checkpoint(ckpt_path, model, optim, device)
        patches.rng.bit_generator.state = rng["patches"]
        gen.set_state(rng["degrade"])
        print(f"train_lowlight: resumed at step {step}", flush=True)

    def enhance(low: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            x = torch.from_numpy(low).permute(2, 0, 1)[None].to(device)
            return model(x)[0].permute(1, 2, 0).float().cpu().numpy()

    report_every = args.val_every if val is not None else args.ckpt_every  # without validation: a loss line per checkpoint
    t0 = time.time()
    running = 0.0
    while step < args.steps:
        clean = patches.batch(args.batch).to(device)
        low = degrade(clean, ranges, gen)
        with torch.autocast(device.type, dtype=torch.float16, enabled=device.type == "cuda"):
            out = model(low)
        loss = criterion(out.float(), clean)
        optim.step(loss)
        step += 1
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if due(step, args.ckpt_every, args.steps):
            save_checkpoint(ckpt_path, model, optim, step,
                            {"patches": patches.rng.bit_generator.state, "degrade": gen.get_state()})
        if due(step, report_every, args.steps):
            line = f"step {step}/{args.steps}  loss {running:.4f}  lr {optim.lr:.2e}  "
            if val is not None:
                model.eval()
                score = score_lowlight(val, enhance, with_ssim=False)
                model.train()
                line += f"synthetic_set14 PSNR {score.psnr:.2f} dB (GT-mean {score.psnr_gtmean:.2f})  "
            print(f"{line}{step / (time.time() - t0):.2f} steps/s", flush=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.cpu().eval().state_dict(), args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(json.dumps({"weights": str(args.out), "sha256": digest, "steps": step,
                      "seconds": round(time.time() - t0, 1)}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
