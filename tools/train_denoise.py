#!/usr/bin/env python3
"""Train the attention U-Net denoiser (vidclear/models/denoise.py) on camera-like night noise.

Every training image (T91 + BSD200, colour) is noised ``--variants`` times, each
time with a night camera drawn at random (``NoiseModel.random``: Poisson-Gaussian
noise, then one H.264 frame at a random crf), and twice per camera: draw A is
the frame, draw B the previous frame of a fixed camera (new noise, the same
scene, cut up to 2 pixels off, as a camera shakes). A third of the samples get
no previous frame (A twice), as the first frame and still images have none.
The last ``--held-out`` BSD200 images are never trained on: they are scored
every ``--val-every`` steps and the best weights are kept.

Example (the command behind the committed weights is in its model card):
    python tools/train_denoise.py --steps 5000 --out vidclear/models/weights/denoise.pt
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidclear.evaluation.noise import NoiseModel, add_camera_noise  # noqa: E402
from vidclear.evaluation.lowlight import read_rgb_color  # noqa: E402
from vidclear.models.denoise import AttentionUNetDenoiser  # noqa: E402
from vidclear.shared_data import SHARED_DATA  # noqa: E402
from vidclear.training.loop import Optimisation, add_run_arguments, due, prepare_run, training_images  # noqa: E402
from vidclear.training.whole_images import psnr, save_best  # noqa: E402

DATA = SHARED_DATA / "sr"
SHAKE = 2  # pixels the previous frame may be off by


def to_float(img: np.ndarray) -> np.ndarray:
    return (img.astype(np.float32) / 255).transpose(2, 0, 1)


class NoisySampler:
    """(clean, frame A, previous frame B) triples of whole images; random patches from them."""

    def __init__(self, images: list[np.ndarray], variants: int, patch: int, rng: np.random.Generator) -> None:
        self.patch, self.rng = patch, rng
        self.items = []
        for _ in range(variants):
            for img in images:
                camera = NoiseModel.random(rng)
                a, b = (add_camera_noise(img, rng, camera) for _ in range(2))
                self.items.append((to_float(img), to_float(a), to_float(b)))
        areas = np.array([c.shape[1] * c.shape[2] for c, _, _ in self.items], dtype=np.float64)
        self.weights = areas / areas.sum()

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        p, s = self.patch, SHAKE
        xs, ys = [], []
        for i in self.rng.choice(len(self.items), size=n, p=self.weights):
            clean, a, b = self.items[i]
            h, w = clean.shape[1:]
            y = int(self.rng.integers(s, h - p - s + 1))
            x = int(self.rng.integers(s, w - p - s + 1))
            cur = a[:, y:y + p, x:x + p]
            if self.rng.random() < 1 / 3:
                prev = cur
            else:
                dy, dx = (int(v) for v in self.rng.integers(-s, s + 1, 2))
                prev = b[:, y + dy:y + dy + p, x + dx:x + dx + p]
            target = clean[:, y:y + p, x:x + p]
            stack = np.concatenate([cur, prev, target])
            k = int(self.rng.integers(0, 8))  # the eight flips and turns
            if k & 4:
                stack = stack.transpose(0, 2, 1)
            if k & 2:
                stack = stack[:, ::-1]
            if k & 1:
                stack = stack[:, :, ::-1]
            stack = np.ascontiguousarray(stack)
            xs.append(stack[:6])
            ys.append(stack[6:])
        return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def held_out_psnr(model: torch.nn.Module, samples: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    """Mean PSNR of the held-out images, the output rounded to 8 bits as a frame would be."""
    model.eval()
    with torch.no_grad():
        scores = [psnr((model(x) * 255).round() / 255, y) for x, y in samples]
    model.train()
    return float(np.mean(scores))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--widths", type=int, nargs=3, default=(32, 48, 96))
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--patch", type=int, default=48, help="patch side, a multiple of 4")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--variants", type=int, default=2, help="noisy copies of each image (a new camera each)")
    ap.add_argument("--held-out", type=int, default=10, help="last BSD200 images kept out of training")
    ap.add_argument("--data", type=Path, default=DATA)
    add_run_arguments(ap, ckpt_every=1000)
    args = ap.parse_args(argv)

    device, _ = prepare_run(args)
    paths = training_images("train_denoise", args.data)
    train_paths, val_paths = paths[:-args.held_out], paths[-args.held_out:]
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    sampler = NoisySampler([read_rgb_color(p) for p in train_paths], args.variants, args.patch, rng)
    val = []
    for p in val_paths:
        clean = read_rgb_color(p)
        noisy = add_camera_noise(clean, rng, NoiseModel.random(rng))
        val.append((torch.from_numpy(to_float(noisy))[None].to(device), torch.from_numpy(to_float(clean))[None].to(device)))
    print(f"train_denoise: {len(sampler.items)} noisy images from {len(train_paths)}, {len(val)} held out, "
          f"made in {time.time() - t0:.0f} s; device {device}", flush=True)

    model = AttentionUNetDenoiser(tuple(args.widths)).to(device)
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location=device, weights_only=True))
    optim = Optimisation(torch.optim.Adam(model.parameters(), lr=args.lr), args.steps, device)
    best, best_step = held_out_psnr(model, val), 0
    print(f"step 0  held-out PSNR {best:.3f} dB (untrained)", flush=True)
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    t0 = time.time()
    running = 0.0
    for step in range(1, args.steps + 1):
        x, y = sampler.batch(args.batch)
        loss = F.l1_loss(model(x.to(device)), y.to(device))
        optim.step(loss)
        running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
        if due(step, args.val_every, args.steps):
            score = held_out_psnr(model, val)
            if score > best:
                best, best_step = score, step
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            print(f"step {step}/{args.steps}  loss {running:.5f}  lr {optim.lr:.2e}  held-out PSNR {score:.3f} dB  "
                  f"(best {best:.3f} at {best_step})  {step / (time.time() - t0):.2f} steps/s", flush=True)

    save_best({k: v.cpu() for k, v in best_state.items()}, args.out, best_step, best, t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
