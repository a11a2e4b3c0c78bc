"""The GPU trainer's resident patches line up LR with HR through every flip, and a run writes a plain ESPCN."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from media import REPO
from vidclear.evaluation.matlab_resize import imresize
from vidclear.models.espcn import ESPCN

sys.path.insert(0, str(REPO))
from tools.train_sr_gpu import ResidentPatches, lr_at, main, make_pairs  # noqa: E402


def _planes(count: int, seed: int = 0) -> list[np.ndarray]:
    """Smooth random luma planes of different sizes, rounded as pack rounds them."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        coarse = rng.uniform(16, 235, (12 + i, 15 + 2 * i))
        out.append(np.clip(np.round(imresize(coarse, 6)), 0, 255))
    return out


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_each_lr_patch_is_the_bicubic_of_its_hr_patch_whatever_its_flip(scale: int) -> None:
    patches = ResidentPatches(make_pairs(_planes(4), scale, (1.0, 0.8)), scale, 16, torch.device("cpu"),
                              torch.Generator().manual_seed(scale))
    lr, hr = patches.batch(64)
    assert lr.shape == (64, 1, 16, 16) and hr.shape == (64, 1, 16 * scale, 16 * scale)
    m = 3  # LR pixels whose bicubic reaches past the patch's edge
    worst = max(float(np.abs(imresize(h[0].double().numpy(), 1 / scale) - l[0].double().numpy())[m:-m, m:-m].max())
                for l, h in zip(lr, hr))
    assert worst < 1e-5
    # a patch shifted by one HR pixel would not be: the check can fail
    shifted = float(np.abs(imresize(hr[0, 0, 1:, :].double().numpy()[: 15 * scale], 1 / scale)
                           - lr[0, 0, :15].double().numpy())[m:-m, m:-m].max())
    assert shifted > 1e-3


def test_the_schedule_warms_up_then_falls_to_a_hundredth() -> None:
    assert lr_at(1.0, 0.0) == pytest.approx(0.1)
    assert lr_at(1.0, 0.03) == pytest.approx(1.0)
    assert lr_at(1.0, 1.0) == pytest.approx(0.01)
    assert lr_at(1.0, 0.5) > lr_at(1.0, 0.8)


def test_a_short_run_writes_a_plain_espcn_no_worse_on_the_held_out_images(tmp_path, capsys) -> None:
    data = tmp_path / "sr_y.npz"
    np.savez_compressed(data, **{f"{i:04d}_p": p.astype(np.uint8) for i, p in enumerate(_planes(12, seed=1))})
    init = tmp_path / "init.pt"
    torch.manual_seed(0)
    torch.save(ESPCN(2).state_dict(), init)
    out = tmp_path / "out.pt"
    assert main(["train", "--data", str(data), "--scale", "2", "--init", str(init), "--seconds", "3",
                 "--val-seconds", "1", "--batch", "8", "--patch", "16", "--device", "cpu", "--out", str(out)]) == 0
    state = torch.load(out, weights_only=True)
    assert sorted(state) == sorted(ESPCN(2).state_dict())  # folded: the keys and shapes of the plain network
    model = ESPCN(2)
    model.load_state_dict(state)
    lines = capsys.readouterr().out.splitlines()
    result = [line for line in lines if '"best_psnr"' in line][0]
    assert "(10 images x shrinks" in lines[0] and "2 held out" in lines[0]  # every 10th image never trains
    assert '"written": true' in result
    start = float(result.split('"start_psnr": ')[1].split(",")[0])
    best = float(result.split('"best_psnr": ')[1].split(",")[0])
    assert best >= start
