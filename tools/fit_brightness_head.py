#!/usr/bin/env python3
"""Fit the low-light network's brightness head on whole images.

The head decides one thing: how bright the whole scene should be (the exposure
of a dark frame cannot be read from it, so the guess comes from content). The
patch training of tools/train_lowlight.py cannot teach that well: a 128-pixel
patch is not a scene. So the restoring trunk is frozen and the head alone is
fitted here, on whole training images (random crops of 60-100% of each side),
darkened with the same wide degradation ranges, minimising the mean over images
of log(MSE): exactly what a mean-PSNR score measures. One training image in ten
is held out; the progress lines report PSNR on it, and the weights of the best
held-out step are kept.

    python tools/fit_brightness_head.py --init trunk.pt --out vidclear/models/weights/lowlight.pt
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

from vidclear.models.lowlight import LowLightNet  # noqa: E402
from vidclear.training.degrade import DegradeRanges, degrade  # noqa: E402
from vidclear.training.loop import seed_everything  # noqa: E402
from vidclear.training.whole_images import add_whole_image_arguments, save_best, whole_images  # noqa: E402


def load_trunk(model: LowLightNet, path: Path) -> None:
    """Load everything but the head (an older file may hold a head of another shape)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    trunk = {k: v for k, v in state.items() if not k.startswith("brightness.")}
    missing, unexpected = model.load_state_dict(trunk, strict=False)
    assert not unexpected and all(k.startswith("brightness.") for k in missing), (missing, unexpected)


@torch.no_grad()
def make_samples(model: LowLightNet, images: list[np.ndarray], draws: int, gen: torch.Generator,
                 rng: np.random.Generator, shrink: int) -> dict[str, torch.Tensor | list]:
    """For each image and draw: the head's input, and the restored and clean images (shrunk) to score it."""
    ranges = DegradeRanges()
    summaries, restored, clean = [], [], []
    for im in images:
        for _ in range(draws):
            h, w = im.shape[:2]
            ch, cw = int(h * rng.uniform(0.6, 1.0)), int(w * rng.uniform(0.6, 1.0))
            y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            c = torch.from_numpy(np.ascontiguousarray(im[y : y + ch, x : x + cw])).permute(2, 0, 1)[None]
            r, s = model.restore(degrade(c, ranges, gen))
            r = r[..., :ch, :cw]
            summaries.append(s[0])
            restored.append(F.avg_pool2d(r, shrink)[0])
            clean.append(F.avg_pool2d(c, shrink)[0])
    return {"summary": torch.stack(summaries), "restored": restored, "clean": clean}


def neg_mean_psnr(model: LowLightNet, samples: dict, idx: list[int]) -> torch.Tensor:
    """-mean PSNR (dB) of the head's choice over the given samples (images of different sizes)."""
    s = model.multiplier(samples["summary"][idx])
    losses = []
    for j, i in enumerate(idx):
        out = (samples["restored"][i] * s[j]).clamp(0, 1)
        losses.append(10 * torch.log10(F.mse_loss(out, samples["clean"][i]) + 1e-10))
    return torch.stack(losses).mean()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", type=Path, required=True, help="weights whose trunk is kept")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--draws", type=int, default=8, help="degraded crops per training image")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-3)
    ap.add_argument("--shrink", type=int, default=2, help="score on images shrunk by this factor (speed)")
    add_whole_image_arguments(ap)
    args = ap.parse_args(argv)

    seed_everything(args.seed, args.threads)
    t0 = time.time()
    train_imgs, val_imgs = whole_images("fit_brightness_head", args.data)

    model = LowLightNet()
    load_trunk(model, args.init)
    model.eval()
    gen = torch.Generator().manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train = make_samples(model, train_imgs, args.draws, gen, rng, args.shrink)
    val = make_samples(model, val_imgs, 2, gen, rng, args.shrink)
    n_train, n_val = len(train["restored"]), len(val["restored"])
    print(f"fit_brightness_head: {n_train} training samples from {len(train_imgs)} images, {n_val} held-out "
          f"from {len(val_imgs)}, made in {time.time() - t0:.0f} s", flush=True)

    for p in model.parameters():
        p.requires_grad_(False)
    head = model.brightness
    for p in head.parameters():
        p.requires_grad_(True)
    opt = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)
    val_idx = list(range(n_val))
    with torch.no_grad():
        best = (-neg_mean_psnr(model, val, val_idx).item(), 0, {k: v.clone() for k, v in head.state_dict().items()})
    print(f"step 0  held-out PSNR {best[0]:.2f} dB (multiplier 1)", flush=True)
    for step in range(1, args.steps + 1):
        idx = rng.choice(n_train, size=min(args.batch, n_train), replace=False).tolist()
        loss = neg_mean_psnr(model, train, idx)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == args.steps:
            with torch.no_grad():
                v = -neg_mean_psnr(model, val, val_idx).item()
            if v > best[0]:
                best = (v, step, {k: t.clone() for k, t in head.state_dict().items()})
            print(f"step {step}/{args.steps}  train PSNR {-loss.item():.2f}  held-out PSNR {v:.2f} dB  "
                  f"(best {best[0]:.2f} at {best[1]})", flush=True)
    head.load_state_dict(best[2])
    save_best(model.state_dict(), args.out, best[1], best[0], t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
