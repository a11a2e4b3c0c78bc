"""What every training tool shares: seeding, the cosine schedule, the AMP step, checkpoints, scoring a network."""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..arg_types import whole_number


def seed_everything(seed: int, threads: int = 0, deterministic: bool = False) -> None:
    if threads:
        torch.set_num_threads(threads)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        use_deterministic_algorithms()


def use_deterministic_algorithms() -> None:
    """Deterministic kernels only, so that a CUDA run with the same seed gives the same weights.

    Some CUDA kernels (convolution backward algorithms, interpolate's backward)
    add into their results in no fixed order; with this, PyTorch picks
    deterministic ones or raises a RuntimeError naming the operation, and the
    low-light decoder switches to its deterministic upsampling
    (vidclear.models.lowlight.upsample2x). Must run before the first CUDA call:
    cuBLAS reads its workspace setting when it starts.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def add_deterministic_argument(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--deterministic", action="store_true",
                    help="deterministic kernels only: on CUDA, the same seed gives the same weights (slower; "
                         "an operation without a deterministic kernel stops the run and is named)")


def cosine_factor(done: float, total: float) -> float:
    """The share of the learning rate left after ``done`` of ``total`` (steps or seconds): a cosine from 1 to 0.01."""
    return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(done, total) / total))


def cosine_schedule(opt: torch.optim.Optimizer, steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Cosine decay from the optimiser's learning rate to 1% of it over ``steps``."""
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: cosine_factor(step, steps))


def luma_upscaler(model: torch.nn.Module, device: torch.device):
    """``model`` as a LumaUpscaler (vidclear.evaluation.sr): a 0-255 luma plane in, its upscale out, for score_sr."""
    def run(y: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            t = torch.from_numpy((y / 255).astype(np.float32))[None, None].to(device)
            return model(t)[0, 0].float().cpu().numpy().astype(np.float64) * 255

    return run


class Optimisation:
    """Optimiser, schedule and (on CUDA) AMP gradient scaling for one model."""

    def __init__(self, opt: torch.optim.Optimizer, steps: int, device: torch.device) -> None:
        self.opt = opt
        self.sched = cosine_schedule(opt, steps)
        self.scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda")

    def step(self, loss: torch.Tensor) -> None:
        self.opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.opt)
        self.scaler.update()
        self.sched.step()

    @property
    def lr(self) -> float:
        return self.sched.get_last_lr()[0]


def save_checkpoint(path: Path, model: torch.nn.Module, optim: Optimisation, step: int, rng: dict[str, Any]) -> None:
    """Everything --resume needs, written atomically."""
    tmp = path.with_suffix(".tmp")
    torch.save(
        {"model": model.state_dict(), "opt": optim.opt.state_dict(), "sched": optim.sched.state_dict(),
         "step": step, "rng": rng, "torch_rng": torch.get_rng_state()},
        tmp,
    )
    tmp.replace(path)


def load_checkpoint(path: Path, model: torch.nn.Module, optim: Optimisation, device: torch.device) -> tuple[int, dict]:
    """Restore a checkpoint written by save_checkpoint; returns (step, the tool's RNG states)."""
    state = torch.load(path, map_location=device, weights_only=False)  # our own file: it holds RNG states
    model.load_state_dict(state["model"])
    optim.opt.load_state_dict(state["opt"])
    optim.sched.load_state_dict(state["sched"])
    torch.set_rng_state(state["torch_rng"])
    return state["step"], state["rng"]


steps_between = whole_number(0, " (only at the end)")
"""argparse type of --ckpt-every / --val-every: a whole number of steps, 0 for "only at the end"."""


def due(step: int, every: int, last: int) -> bool:
    """Whether a periodic task (a checkpoint, a validation) runs at ``step``: every ``every`` steps and at the
    ``last``; ``every`` 0 means at the last only."""
    return step == last or (every > 0 and step % every == 0)


def add_run_arguments(ap: argparse.ArgumentParser, ckpt_every: int) -> None:
    """The options every training tool takes: seeding, device, checkpoints, stages, output."""
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--work-dir", type=Path, default=None, help="checkpoints (default: next to --out)")
    ap.add_argument("--ckpt-every", type=steps_between, default=ckpt_every, help="0: at the end only")
    ap.add_argument("--val-every", type=steps_between, default=1000, help="0: at the end only")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", type=Path, help="start from these weights (a second, fine-tuning stage)")
    ap.add_argument("--out", type=Path, required=True)
    add_deterministic_argument(ap)


def training_folders(tool: str, data: Path, *extra: str) -> list[Path]:
    """T91 and BSD200 under ``data``; a missing one (or a missing ``extra`` folder) ends the tool with one line."""
    folders = [data / "train_t91", data / "train_bsd200"]
    for f in folders + [data / e for e in extra]:
        if not f.is_dir():
            print(f"{tool}: missing data folder {f}", file=sys.stderr)
            raise SystemExit(2)
    return folders


def training_images(tool: str, data: Path, *extra: str) -> list[Path]:
    """Every image of ``training_folders``, T91 first, each folder in sorted order."""
    from ..evaluation.sr import list_images

    return [p for f in training_folders(tool, data, *extra) for p in list_images(f)]


def split_tenth(items: list) -> tuple[list, list]:
    """The training images and the held-out tenth (every 10th, in sorted order): the split every tool that
    compares weights on held-out training images uses (whole_images, tools/sr_heldout.py)."""
    return [x for i, x in enumerate(items) if i % 10], [x for i, x in enumerate(items) if i % 10 == 0]


def prepare_run(args: argparse.Namespace) -> tuple[torch.device, Path]:
    """Seed, pick the device, make the work folder; returns (device, checkpoint path)."""
    seed_everything(args.seed, args.threads, args.deterministic)
    work = args.work_dir or args.out.with_suffix(".work")
    work.mkdir(parents=True, exist_ok=True)
    return torch.device(args.device), work / "checkpoint.pt"
