"""The low-light network: any frame size, both heads, and the head fit's trunk loading."""

import json
import re
import sys
from pathlib import Path

import pytest
import torch

from media import REPO
from vidclear.models.lowlight import LowLightNet

sys.path.insert(0, str(REPO))
from tools.fit_brightness_head import load_trunk, neg_mean_psnr  # noqa: E402


@pytest.mark.parametrize("size", [(37, 53), (64, 64), (1, 7)])
def test_any_frame_size_comes_back_the_same_size(size):
    net = LowLightNet().eval()
    with torch.no_grad():
        out = net(torch.rand(2, 3, *size) * 0.1)
    assert out.shape == (2, 3, *size)
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_heads_start_at_multiplier_one_and_stay_under_100k_parameters():
    x = torch.rand(1, 3, 40, 44) * 0.1
    for head in ("linear", "mlp"):
        net = LowLightNet(head=head).eval()
        assert sum(p.numel() for p in net.parameters()) <= 100_000
        with torch.no_grad():
            restored, summary = net.restore(x)
            assert torch.equal(net(x), restored.clamp(0, 1)[..., :40, :44])
    with pytest.raises(ValueError, match="unknown brightness head"):
        LowLightNet(head="deep")


def test_head_fit_keeps_the_trunk_of_a_linear_head_file(tmp_path):
    trained = LowLightNet(head="linear")
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.01 * torch.randn_like(p))
    path = tmp_path / "trunk.pt"
    torch.save(trained.state_dict(), path)
    net = LowLightNet()
    load_trunk(net, path)
    for name, value in trained.state_dict().items():
        if not name.startswith("brightness."):
            assert torch.equal(net.state_dict()[name], value), name


def test_head_objective_is_minus_the_mean_psnr():
    net = LowLightNet()  # multiplier 1 at the start
    clean = [torch.full((3, 4, 4), 0.5), torch.full((3, 4, 4), 0.25)]
    samples = {"summary": torch.zeros(2, 16 + 32 + 48 + 1), "restored": [c + 0.1 for c in clean], "clean": clean}
    assert neg_mean_psnr(net, samples, [0, 1]).item() == pytest.approx(-20.0, abs=1e-4)  # MSE 0.01 -> 20 dB


def _tiny_training_set(root):
    """Ten 48x56 images in the layout tools/fit_brightness_head.whole_images reads (one held out)."""
    import cv2
    import numpy as np

    rng = np.random.default_rng(0)
    for i in range(10):
        folder = root / "sr" / ("train_t91" if i < 5 else "train_bsd200")
        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(folder / f"im{i}.png"), rng.integers(0, 256, (48, 56, 3), dtype=np.uint8))


def test_whole_image_tuning_with_ema_is_deterministic_and_keeps_its_best(tmp_path, capsys):
    from tools.tune_lowlight_whole import main as tune

    _tiny_training_set(tmp_path)
    torch.manual_seed(0)
    init = tmp_path / "init.pt"
    torch.save(LowLightNet().state_dict(), init)
    lines = []
    for run in ("a", "b"):  # the same file name: torch.save names its archive after it
        args = ["--init", str(init), "--out", str(tmp_path / run / "lowlight.pt"), "--steps", "4", "--images", "2",
                "--val-every", "2", "--ema", "0.5", "--threads", "1", "--data", str(tmp_path)]
        assert tune(args) == 0
        lines.append(capsys.readouterr().out.strip().splitlines())
    untimed = [[re.sub(r"[\d.]+ steps/s", "", ln) for ln in run[:-1]] for run in lines]
    assert untimed[0] == untimed[1]  # the same progress lines, but for the speed
    first, second = (json.loads(run[-1]) for run in lines)
    assert first["sha256"] == second["sha256"]  # the card's claim: same seed and threads, same weights
    progress = [ln for ln in lines[0] if ln.startswith("step ")]
    assert len(progress) == 2 and all("EMA" in ln for ln in progress)
    best = max(float(x) for ln in lines[0][:-1] for x in re.findall(r"(?:held-out PSNR|EMA) (\d+\.\d+) dB", ln))
    assert first["held_out_psnr"] == pytest.approx(best, abs=1e-3)
    LowLightNet().load_state_dict(torch.load(tmp_path / "a" / "lowlight.pt", weights_only=True))  # a complete state dict


def test_held_out_scoring_matches_gt_mean_scaling():
    from vidclear.training.whole_images import score

    class Halve(torch.nn.Module):
        def forward(self, x):
            return 0.5 * x

    clean = torch.full((1, 3, 8, 8), 0.6)
    plain, gtmean = score(Halve(), [(clean, clean)])
    assert plain == pytest.approx(-10 * torch.log10(torch.tensor(0.09)).item(), abs=1e-3)  # error 0.3 everywhere
    assert gtmean == pytest.approx(100.0)  # scaled back to the clean mean it is exact (MSE floor 1e-10)


def test_held_out_tool_prints_a_row_per_weights_file(tmp_path, capsys):
    from tools.lowlight_heldout import main as held_out

    _tiny_training_set(tmp_path)
    torch.manual_seed(0)
    paths = [tmp_path / "a.pt", tmp_path / "b.pt"]
    for p in paths:
        torch.save(LowLightNet().state_dict(), p)
    assert held_out([str(p) for p in paths] + ["--draws", "1", "--threads", "1", "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 held-out images x 1 draws")
    rows = [ln for ln in out.splitlines() if ln.startswith(f"| {tmp_path}")]
    assert len(rows) == 2 and all(len(re.findall(r"\d+\.\d{3} / \d+\.\d{3}", r)) == 2 for r in rows)


def test_whole_image_tuning_stops_at_max_seconds_and_keeps_its_best(tmp_path, capsys):
    from tools.tune_lowlight_whole import main as tune

    _tiny_training_set(tmp_path)
    init = tmp_path / "init.pt"
    torch.save(LowLightNet().state_dict(), init)
    out = tmp_path / "lowlight.pt"
    args = ["--init", str(init), "--out", str(out), "--steps", "50", "--images", "1", "--val-every", "25",
            "--max-seconds", "0.001", "--threads", "1", "--data", str(tmp_path)]
    assert tune(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2] == ("tune_lowlight_whole: stopped at step 1 of 50: --max-seconds 0.001 passed "
                         "(the schedule did not finish)")
    assert lines[-3].startswith("step 1/50 ")  # the step it stopped at was scored
    assert json.loads(lines[-1])["weights"] == str(out) and out.exists()


def test_degradation_follows_its_generator_and_is_reproducible():
    from vidclear.training.degrade import DegradeRanges, degrade

    clean = torch.rand(2, 3, 16, 16)
    a = degrade(clean, DegradeRanges(), torch.Generator().manual_seed(3))
    b = degrade(clean, DegradeRanges(), torch.Generator().manual_seed(3))
    c = degrade(clean, DegradeRanges(), torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.mean() < clean.mean() / 2  # dark
    assert torch.equal(a, torch.round(a * 255) / 255)  # 8-bit levels


def test_patch_training_without_validation_needs_no_synthetic_set14(tmp_path, capsys):
    """--val-every 0 (what a GPU machine that gets only the training images runs): loss lines, no test set read."""
    runs = _train_patches_twice(tmp_path, capsys, "--steps", "4", "--ckpt-every", "2")
    for lines, out in runs:
        progress = [ln for ln in lines if ln.startswith("step ")]
        assert [ln.split()[1] for ln in progress] == ["2/4", "4/4"]
        assert all("loss" in ln and "synthetic_set14" not in ln for ln in progress)
        LowLightNet(head="linear").load_state_dict(torch.load(out, weights_only=True))
    assert _sha256(runs[0]) == _sha256(runs[1])  # same seed and threads, same bytes (same file name: torch.save uses it)


def _train_patches_twice(tmp_path, capsys, *options: str) -> list[tuple[list[str], Path]]:
    """tools/train_lowlight.py run twice on the tiny set (no synthetic_set14 there, so --val-every 0),
    each into a folder of its own under the same file name; (printed lines, weights path) per run."""
    from tools.train_lowlight import main as train

    _tiny_training_set(tmp_path)
    runs = []
    for run in ("a", "b"):
        out = tmp_path / run / "trunk.pt"
        args = ["--patch", "32", "--batch", "2", "--val-every", "0", "--threads", "1", "--device", "cpu",
                "--data", str(tmp_path), "--out", str(out), *options]
        assert train(args) == 0
        runs.append((capsys.readouterr().out.strip().splitlines(), out))
    return runs


def _sha256(run: tuple[list[str], Path]) -> str:
    return json.loads(run[0][-1])["sha256"]


@pytest.fixture
def restores_determinism(monkeypatch):
    """--deterministic switches process-wide torch settings; put them back for the tests after."""
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    yield
    torch.use_deterministic_algorithms(False)
    torch.backends.cudnn.deterministic = False


def _autograd_ops(t: torch.Tensor) -> set[str]:
    seen, todo = set(), [t.grad_fn]
    while todo:
        fn = todo.pop()
        if fn is not None and fn.name() not in seen:
            seen.add(fn.name())
            todo.extend(f for f, _ in fn.next_functions)
    return seen


@pytest.mark.parametrize("shape", [(2, 5, 7, 9), (1, 3, 1, 6), (1, 1, 1, 1)])
def test_deterministic_upsampling_is_bilinear_interpolate_values_and_gradients(shape, restores_determinism):
    import torch.nn.functional as F

    from vidclear.models.lowlight import upsample2x

    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    ref = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
    torch.use_deterministic_algorithms(True)
    out = upsample2x(x)
    assert "UpsampleBilinear2DBackward0" not in _autograd_ops(out)  # the kernel without a deterministic backward
    grad = torch.randn_like(ref)
    (g_ref,), (g_out,) = torch.autograd.grad(ref, x, grad), torch.autograd.grad(out, x, grad)
    assert out.shape == ref.shape
    assert (out - ref).abs().max() < 1e-12 and (g_out - g_ref).abs().max() < 1e-12
    torch.use_deterministic_algorithms(False)
    assert "UpsampleBilinear2DBackward0" in _autograd_ops(upsample2x(x))  # otherwise: interpolate, as exported


def test_deterministic_patch_training_repeats_byte_for_byte(tmp_path, capsys, restores_determinism):
    """--deterministic on the CPU: the run trains with the deterministic decoder and repeats byte for byte."""
    import os

    runs = _train_patches_twice(tmp_path, capsys, "--steps", "2", "--deterministic")
    assert torch.are_deterministic_algorithms_enabled() and os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert _sha256(runs[0]) == _sha256(runs[1])
