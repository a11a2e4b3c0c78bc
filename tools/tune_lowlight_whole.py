#!/usr/bin/env python3
"""Last low-light stage: fine-tune the whole network on whole images for mean PSNR.

The patch stages learn to restore (L1 + SSIM on 64-128 px patches) and
tools/fit_brightness_head.py fits the brightness head on whole images with the
trunk frozen. This stage lets the trunk and head adapt to each other on whole
scenes: each step darkens 4 training images (random crops of 60-100% of each
side, at half size to keep it quick on a CPU, or with --size full at the size
the evaluation uses; the degradation acts per pixel, so its statistics do not
change) with the wide ranges and minimises the mean
of the per-image log MSE, i.e. maximises mean PSNR. One training image in ten
is held out (4 degraded draws each); the weights of the best held-out step
are kept. With --ema the running average of the weights is scored too (the
plain PSNR hangs on one brightness multiplier, which single steps jolt), and
whichever of the two scores best on the held-out images is kept.

    python tools/tune_lowlight_whole.py --init head_fitted.pt --out vidclear/models/weights/lowlight.pt

On a CUDA device (--device cuda) the network and the degradation of the
training crops run there (the noise then comes from a CUDA generator with the
same seed, so a GPU run draws other noise than a CPU run; the crops and the
held-out samples are the same). --max-seconds stops early, keeping the best
weights so far, and says so: a guard for a time-limited machine, not a recipe.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidclear.models.lowlight import LowLightNet  # noqa: E402
from vidclear.training.degrade import DegradeRanges, degrade  # noqa: E402
from vidclear.training.loop import add_deterministic_argument, due, seed_everything, steps_between  # noqa: E402
from vidclear.training.whole_images import (  # noqa: E402
    add_size_argument,
    add_whole_image_arguments,
    at_size,
    held_out_samples,
    save_best,
    score,
    to_tensor,
    whole_images,
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", type=Path, required=True, help="weights with the whole-image head (LowLightNet)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--images", type=int, default=4, help="whole images per step")
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--ema", type=float, default=0.0,
                    help="also score an exponential moving average of the weights with this decay (0: off)")
    ap.add_argument("--val-every", type=steps_between, default=100, help="0: at the end only")
    ap.add_argument("--device", default="cpu", help="where the network runs: cpu or cuda")
    ap.add_argument("--max-seconds", type=float, default=0.0,
                    help="stop after this long, keeping the best weights so far (0: no limit)")
    add_whole_image_arguments(ap)
    add_size_argument(ap)
    add_deterministic_argument(ap)
    args = ap.parse_args(argv)

    seed_everything(args.seed, args.threads, args.deterministic)
    t0 = time.time()
    train_imgs, val_imgs = whole_images("tune_lowlight_whole", args.data)
    train = [at_size(im, args.size) for im in train_imgs]
    ranges = DegradeRanges()
    gen = torch.Generator().manual_seed(args.seed)
    device = torch.device(args.device)
    val = [(low.to(device), clean.to(device)) for low, clean in held_out_samples(val_imgs, ranges, 4, gen, args.size)]
    model = LowLightNet()
    model.load_state_dict(torch.load(args.init, map_location="cpu", weights_only=True))
    model.to(device)
    if device.type != "cpu":  # training noise from a generator beside the images (held-out samples: as on the CPU)
        gen = torch.Generator(device).manual_seed(args.seed)

    scorer = copy.deepcopy(model).eval()

    def held_out_psnr(state: dict[str, torch.Tensor]) -> float:
        scorer.load_state_dict(state)
        return score(scorer, val)[0]

    ema = {k: v.detach().clone() for k, v in model.state_dict().items()} if args.ema else None
    best = (held_out_psnr(model.state_dict()), 0, copy.deepcopy(model.state_dict()))
    print(f"tune_lowlight_whole: {len(train)} training images, {len(val)} held-out samples ({args.size} size), "
          f"device {device}; step 0 held-out PSNR {best[0]:.3f} dB", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)
    rng = np.random.default_rng(args.seed)
    model.train()
    for step in range(1, args.steps + 1):
        losses = []
        for i in rng.choice(len(train), args.images, replace=False):
            img = train[i]
            h, w = img.shape[:2]
            ch, cw = int(h * rng.uniform(0.6, 1.0)), int(w * rng.uniform(0.6, 1.0))
            y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            clean = to_tensor(img[y : y + ch, x : x + cw]).to(device)
            losses.append(10 * torch.log10(F.mse_loss(model(degrade(clean, ranges, gen)), clean) + 1e-10))
        loss = torch.stack(losses).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if ema is not None:
            with torch.no_grad():
                for k, v in model.state_dict().items():
                    ema[k].lerp_(v, 1 - args.ema) if v.is_floating_point() else ema[k].copy_(v)
        out_of_time = bool(args.max_seconds) and time.time() - t0 > args.max_seconds
        if due(step, args.val_every, args.steps) or out_of_time:
            line = f"step {step}/{args.steps}  train PSNR {-loss.item():.2f}"
            for label, state in (("held-out PSNR", model.state_dict()), ("EMA", ema)):
                if state is None:
                    continue
                v = held_out_psnr(state)
                if v > best[0]:
                    best = (v, f"{step}{' EMA' if label == 'EMA' else ''}", copy.deepcopy(state))
                line += f"  {label} {v:.3f} dB"
            print(f"{line}  (best {best[0]:.3f} at {best[1]})  {step / (time.time() - t0):.2f} steps/s",
                  flush=True)
        if out_of_time:
            print(f"tune_lowlight_whole: stopped at step {step} of {args.steps}: --max-seconds {args.max_seconds:g} "
                  "passed (the schedule did not finish)", flush=True)
            break
    save_best({k: v.cpu() for k, v in best[2].items()}, args.out, best[1], best[0], t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
