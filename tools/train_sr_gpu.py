#!/usr/bin/env python3
"""Train the clean ESPCN models on a lent GPU, with the whole training set resident on it.

train_sr.py cuts its patches one by one in numpy: on a GPU that, not the network, is
what it waits for. Here every training image lives on the GPU and a batch is one
gather, so a reparameterised ESPCN (``--expand``, vidclear/training/reparam.py) sees
tens of millions of patches in the few minutes a lent machine gives. What is written
is the folded, plain ESPCN: the same parameters, FLOPs and speed as before.

The training time, not a step count, is fixed (``--seconds``): the cosine schedule
runs over it, so a run fits its lease whatever the GPU's speed. The loss is L1, and
after ``--mse-from`` of the time the squared error that PSNR scores. The held-out
tenth of T91 + BSD200 (``split_tenth``, the images tools/sr_heldout.py scores) never
trains; every ``--val-seconds`` the exponential moving average of the weights is
scored on it, and the best so far is written to ``--out``, so a run cut short still
leaves its best.
Set5 is never looked at: tools/sr_heldout.py and vidclear eval judge the result here.

Two steps, because ../shared does not travel to the GPU machine:

    python tools/train_sr_gpu.py pack --out carry/sr_y.npz      # here: the luma of every image, uint8
    python3 tools/train_sr_gpu.py train --data carry/sr_y.npz --scale 2 --init \
        vidclear/models/weights/espcn_x2.pt --expand 2 --seconds 360 --out out/espcn_x2.pt   # there

Pairs are made from the rounded luma (LR = MATLAB bicubic of it), not from RGB as the
protocol does: on the held-out tenth that moved the shipped x2 and x3 weights' PSNR by
under 0.002 dB, and it lets one uint8 plane per image travel instead of three.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vidclear.evaluation.matlab_resize import imresize  # noqa: E402
from vidclear.evaluation.metrics import modcrop  # noqa: E402
from vidclear.evaluation.sr import SRPair, score_sr  # noqa: E402
from vidclear.export.files import written_whole  # noqa: E402
from vidclear.models.espcn import ESPCN  # noqa: E402
from vidclear.training.loop import cosine_factor, luma_upscaler, split_tenth  # noqa: E402
from vidclear.training.reparam import expand, fold  # noqa: E402


def pack(data: Path, out: Path) -> None:
    """The luma of every T91 + BSD200 image, rounded to uint8, in training_images order."""
    from vidclear.evaluation.metrics import rgb_to_y
    from vidclear.evaluation.sr import read_rgb
    from vidclear.training.loop import training_images

    paths = training_images("train_sr_gpu", data)
    planes = {f"{i:04d}_{p.stem}": np.round(rgb_to_y(read_rgb(p))).clip(0, 255).astype(np.uint8)
              for i, p in enumerate(paths)}
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **planes)
    print(f"train_sr_gpu: {len(planes)} images to {out} ({out.stat().st_size / 2**20:.1f} MiB)")


def load_planes(path: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(training, held-out) luma planes: the held-out tenth is split_tenth's."""
    with np.load(path) as z:
        return split_tenth([z[k].astype(np.float64) for k in sorted(z.files)])


def make_pairs(planes: list[np.ndarray], scale: int, shrinks: tuple[float, ...]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(LR, HR) of each plane and of each copy of it shrunk by ``shrinks`` (MATLAB bicubic, as FSRCNN's
    data were scaled): more kinds of edge per pixel from the same 261 images."""
    pairs = []
    for plane in planes:
        for f in shrinks:
            hr = plane if f == 1 else np.clip(np.round(imresize(plane, f)), 0, 255)
            hr = modcrop(hr, scale)
            pairs.append((imresize(hr, 1 / scale), hr))
    return pairs


class ResidentPatches:
    """Every (LR, HR) pair on the device, zero-padded to one shape; a batch is one gather plus the eight
    flips and turns, drawn per patch. Images are drawn in proportion to their area."""

    def __init__(self, pairs: list[tuple[np.ndarray, np.ndarray]], scale: int, patch: int,
                 device: torch.device, generator: torch.Generator) -> None:
        pairs = [(lr, hr) for lr, hr in pairs if min(lr.shape) >= patch]
        h = max(lr.shape[0] for lr, _ in pairs)
        w = max(lr.shape[1] for lr, _ in pairs)
        self.lr = torch.zeros(len(pairs), h, w)
        self.hr = torch.zeros(len(pairs), h * scale, w * scale)
        for i, (lr, hr) in enumerate(pairs):
            self.lr[i, : lr.shape[0], : lr.shape[1]] = torch.from_numpy(lr / 255)
            self.hr[i, : hr.shape[0], : hr.shape[1]] = torch.from_numpy(hr / 255)
        self.lr, self.hr = self.lr.to(device), self.hr.to(device)
        sizes = torch.tensor([lr.shape for lr, _ in pairs], dtype=torch.float32, device=device)
        self.room = sizes - patch + 1  # the top-left corners a patch may take, per axis
        self.weights = sizes.prod(1)
        self.scale, self.patch, self.gen, self.device = scale, patch, generator, device
        self.images = len(pairs)

    def batch(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        s, p, dev, g = self.scale, self.patch, self.device, self.gen
        idx = torch.multinomial(self.weights, n, replacement=True, generator=g)
        corner = (torch.rand(n, 2, device=dev, generator=g) * self.room[idx]).long()
        a = torch.arange(p, device=dev)
        b = torch.arange(p * s, device=dev)
        i3 = idx[:, None, None]
        lr = self.lr[i3, corner[:, 0, None, None] + a[None, :, None], corner[:, 1, None, None] + a[None, None, :]]
        hr = self.hr[i3, corner[:, 0, None, None] * s + b[None, :, None], corner[:, 1, None, None] * s + b[None, None, :]]
        k = torch.randint(0, 8, (n, 1, 1), device=dev, generator=g)
        lr, hr = (torch.where(k & 4 > 0, t.transpose(1, 2), t) for t in (lr, hr))
        lr, hr = (torch.where(k & 2 > 0, t.flip(1), t) for t in (lr, hr))
        lr, hr = (torch.where(k & 1 > 0, t.flip(2), t) for t in (lr, hr))
        return lr[:, None].contiguous(), hr[:, None].contiguous()


def held_out_psnr(model: torch.nn.Module, pairs: list[SRPair], scale: int, device: torch.device) -> float:
    """Mean Y PSNR of an eval-mode network, as vidclear eval scores it (score_sr)."""
    return score_sr(pairs, scale, luma_upscaler(model, device), with_ssim=False).psnr


def lr_at(base: float, done: float, warmup: float = 0.03) -> float:
    """A short linear warm-up (an expanded warm start must not be thrown off at once), then cosine to 1%."""
    if done < warmup:
        return base * (0.1 + 0.9 * done / warmup)
    return base * cosine_factor(done - warmup, 1 - warmup)


def train(args: argparse.Namespace) -> int:
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True  # one patch shape throughout: let cuDNN pick its fastest kernels
    gen = torch.Generator(device=device).manual_seed(args.seed)
    name = args.name or args.out.stem
    log = lambda line: print(f"[{name}] {line}", flush=True)  # noqa: E731

    t_prep = time.time()
    train_planes, held_planes = load_planes(args.data)
    if args.limit_images:
        train_planes, held_planes = train_planes[: args.limit_images], held_planes[: max(1, args.limit_images // 9)]
    patches = ResidentPatches(make_pairs(train_planes, args.scale, tuple(args.shrinks)), args.scale, args.patch,
                              device, gen)
    held = [SRPair(str(i), hr, lr) for i, (lr, hr) in enumerate(make_pairs(held_planes, args.scale, (1.0,)))]

    model = ESPCN(args.scale)
    if args.init:
        state = torch.load(args.init, map_location="cpu", weights_only=True)
        missing, unexpected = model.load_state_dict(state, strict=False)
        if unexpected or [k for k in missing if not k.startswith("bicubic.")]:
            raise SystemExit(f"train_sr_gpu: {args.init} is not a plain ESPCN x{args.scale} (missing {missing}, "
                             f"unexpected {unexpected})")
    model = model.to(device).eval()
    start_psnr = held_out_psnr(model, held, args.scale, device)
    if args.expand:
        model = expand(model, args.expand).to(device)
    model = model.to(memory_format=torch.channels_last).train()
    params = [p for p in model.parameters() if p.requires_grad]
    averaged = copy.deepcopy(model).eval()  # the moving average of the weights: what is scored and written
    ema = [p for p in averaged.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=args.lr, fused=device.type == "cuda")
    log(f"{patches.images} training pairs ({len(train_planes)} images x shrinks {args.shrinks}), {len(held)} held out, "
        f"x{args.scale}, {sum(p.numel() for p in params)} trained parameters, prepared in {time.time() - t_prep:.1f} s "
        f"on {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}; "
        f"held-out PSNR at the start {start_psnr:.4f} dB")

    best, best_step, step, running = start_psnr if args.init else -1.0, 0, 0, 0.0
    t0 = last_val = time.time()
    while True:
        done = (time.time() - t0) / args.seconds
        if done >= 1:
            break
        for group in opt.param_groups:
            group["lr"] = lr_at(args.lr, done)
        lr_b, hr_b = patches.batch(args.batch)
        diff = model(lr_b.to(memory_format=torch.channels_last)) - hr_b
        loss = diff.abs().mean() if done < args.mse_from else (diff * diff).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        decay = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            torch._foreach_lerp_(ema, params, 1 - decay)
        if step % 50 == 0:
            running = loss.item() if running == 0 else 0.9 * running + 0.1 * loss.item()
        last = time.time() - t0 >= args.seconds
        if time.time() - last_val >= args.val_seconds or last:
            last_val = time.time()
            plain = fold(averaged).to(memory_format=torch.contiguous_format)
            psnr = held_out_psnr(plain, held, args.scale, device)
            mark = ""
            if psnr > best:
                best, best_step, mark = psnr, step, " (best)"
                save(plain, args.out)
            log(f"{time.time() - t0:6.0f} s  step {step}  loss {running:.5f}  lr {lr_at(args.lr, done):.2e}  "
                f"held-out {psnr:.4f} dB{mark}  {step / (time.time() - t0):.0f} steps/s")
    result = {"run": name, "scale": args.scale, "steps": step, "seconds": round(time.time() - t0, 1),
              "patches": step * args.batch, "start_psnr": round(start_psnr, 4), "best_psnr": round(best, 4),
              "best_step": best_step, "written": args.out.is_file()}
    log(json.dumps(result))
    return 0


def save(model: torch.nn.Module, out: Path) -> None:
    """The plain state dict, on the CPU, written whole or not at all."""
    with written_whole(out) as tmp:
        torch.save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, tmp)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="here: write the luma of T91 + BSD200 to one file that travels")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "sr")
    p.add_argument("--out", type=Path, required=True)
    t = sub.add_parser("train", help="there: train one ESPCN from the packed file")
    t.add_argument("--data", type=Path, required=True, help="the file pack wrote")
    t.add_argument("--scale", type=int, required=True, choices=(2, 3, 4))
    t.add_argument("--init", type=Path, help="start from these plain ESPCN weights (else from scratch)")
    t.add_argument("--expand", type=int, default=2, help="train each convolution this many times wider (0: plain)")
    t.add_argument("--seconds", type=float, default=360, help="training time; the schedule runs over it")
    t.add_argument("--val-seconds", type=float, default=30, help="score the held-out tenth this often")
    t.add_argument("--lr", type=float, default=5e-4)
    t.add_argument("--batch", type=int, default=192)
    t.add_argument("--patch", type=int, default=40, help="LR patch side")
    t.add_argument("--shrinks", type=float, nargs="+", default=[1.0, 0.9, 0.8, 0.7, 0.6])
    t.add_argument("--mse-from", type=float, default=1.0,
                   help="the share of the time after which the loss is the squared error PSNR scores, not L1")
    t.add_argument("--ema", type=float, default=0.999, help="decay of the weights' moving average")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    t.add_argument("--limit-images", type=int, default=0, help="a rehearsal: this many training images")
    t.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    t.add_argument("--name", default="")
    t.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.command == "pack":
        pack(args.data, args.out)
        return 0
    return train(args)


if __name__ == "__main__":
    raise SystemExit(main())
