#!/usr/bin/env python3
"""Train the SRGAN-style generator (vidclear/models/srgan.py) for forensic x4 luma super-resolution.

Two phases, as SRGAN was trained:
1. ``--pretrain-steps`` with L1 only (an SRResNet), so the adversarial phase
   starts from a generator that already reconstructs;
2. the rest with L1 + ``--feature-weight`` x the feature loss + ``--adv-weight`` x
   the relativistic adversarial loss, the discriminator (which is also the
   feature network: vidclear/training/gan.py) trained step for step with it.

The phases can run as two commands: ``--steps N --pretrain-steps N`` writes the
L1 generator; ``--init THAT --pretrain-steps 0`` runs the adversarial phase alone.

The data are train_sr.py's: T91 + BSD200 and synthetic text lines, through
camera degradations (blur, Poisson-Gaussian noise, H.264/H.265 at CCTV bitrates),
because the generator is for what cameras send. One (LR, HR) pair in fifty is
held out and never trained on (another degraded copy of the same image may be);
its PSNR is printed every ``--val-every`` steps so that an adversarial phase that
runs away shows. The weights of the last step are written.

Example (the commands behind the committed weights are in its model card):
    python tools/train_srgan.py --steps 10000 --pretrain-steps 10000 --out /tmp/srgan/l1.pt
    python tools/train_srgan.py --init /tmp/srgan/l1.pt --pretrain-steps 0 --steps 2500 --out srgan_x4.pt
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
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))

from train_sr import PatchSampler  # noqa: E402

from vidclear.models.srgan import SRGANGenerator  # noqa: E402
from vidclear.shared_data import SHARED_DATA  # noqa: E402
from vidclear.training.gan import (  # noqa: E402
    PatchDiscriminator,
    discriminator_loss,
    generator_losses,
)
from vidclear.training.loop import Optimisation, add_run_arguments, due, prepare_run, training_images  # noqa: E402
from vidclear.training.whole_images import save_best  # noqa: E402


def held_out_psnr(model: torch.nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    model.eval()
    with torch.no_grad():
        mse = float(np.mean([F.mse_loss(model(lr).clamp(0, 1), hr).item() for lr, hr in batches]))
    model.train()
    return 10 * np.log10(1 / mse)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=4, choices=(2, 4))
    ap.add_argument("--channels", type=int, default=32)
    ap.add_argument("--blocks", type=int, default=6)
    ap.add_argument("--steps", type=int, default=6000, help="all steps, the L1 pretraining included")
    ap.add_argument("--pretrain-steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--patch", type=int, default=24, help="low-resolution patch size")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--gan-lr", type=float, default=1e-4)
    ap.add_argument("--feature-weight", type=float, default=0.05)
    ap.add_argument("--adv-weight", type=float, default=5e-3)
    ap.add_argument("--variants", type=int, default=2, help="camera-degraded copies of each image")
    ap.add_argument("--text-images", type=int, default=1500)
    ap.add_argument("--text-heights", type=int, nargs=2, default=(3, 9))
    ap.add_argument("--held-out", type=int, default=64, help="patches of the held-out images scored every --val-every steps")
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "sr")
    add_run_arguments(ap, ckpt_every=1000)
    args = ap.parse_args(argv)

    device, _ = prepare_run(args)
    t0 = time.time()
    sampler = PatchSampler(training_images("train_srgan", args.data), args.scale, args.patch, 0.0, args.seed, 0.0, "camera", args.variants, args.text_images, tuple(args.text_heights))
    val_sampler = sampler.hold_out(50, args.seed + 99)
    val = [tuple(t.to(device) for t in val_sampler.batch(16)) for _ in range(max(1, args.held_out // 16))]
    print(f"train_srgan: {len(sampler.pairs)} training images, {len(val_sampler.pairs)} held out, made in "
          f"{time.time() - t0:.0f} s; x{args.scale}, device {device}", flush=True)

    gen = SRGANGenerator(args.scale, args.channels, args.blocks).to(device)
    if args.init:
        gen.load_state_dict(torch.load(args.init, map_location=device, weights_only=True))
        print(f"train_srgan: starting from {args.init}: held-out PSNR {held_out_psnr(gen, val):.3f} dB", flush=True)
    disc = PatchDiscriminator().to(device)
    g_opt = Optimisation(torch.optim.Adam(gen.parameters(), lr=args.lr), max(1, args.pretrain_steps), device)
    score = float("nan")
    t0 = time.time()
    for step in range(1, args.steps + 1):
        if step == max(1, args.pretrain_steps + 1):
            gan_steps = args.steps - args.pretrain_steps
            g_opt = Optimisation(torch.optim.Adam(gen.parameters(), lr=args.gan_lr, betas=(0.9, 0.99)), gan_steps,
                                 device)
            d_opt = Optimisation(torch.optim.Adam(disc.parameters(), lr=args.gan_lr, betas=(0.9, 0.99)), gan_steps,
                                 device)
        lr_b, hr_b = (t.to(device) for t in sampler.batch(args.batch))
        out = gen(lr_b)
        loss = F.l1_loss(out, hr_b)
        parts = f"l1 {loss.item():.4f}"
        if step > args.pretrain_steps:
            feat, adv = generator_losses(disc, out, hr_b)
            loss = loss + args.feature_weight * feat + args.adv_weight * adv
            g_opt.step(loss)
            d_loss = discriminator_loss(disc, out, hr_b)
            d_opt.step(d_loss)
            parts += f"  feature {feat.item():.4f}  adv {adv.item():.3f}  disc {d_loss.item():.3f}"
        else:
            g_opt.step(loss)
        if due(step, args.val_every, args.steps):
            score = held_out_psnr(gen, val)
            print(f"step {step}/{args.steps}  {parts}  held-out PSNR {score:.3f} dB  "
                  f"{step / (time.time() - t0):.2f} steps/s", flush=True)
    save_best({k: v.detach().cpu() for k, v in gen.state_dict().items()}, args.out, f"{args.steps} (the last)",
              score, t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
