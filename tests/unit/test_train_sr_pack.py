"""train_sr.py --pack-out / --pack: camera pairs built here train elsewhere, unchanged but for whole levels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.unit.test_train_sr_adversarial import tiny_data
from vidclear.models.espcn import ESPCN

COMMON = ["--scale", "3", "--batch", "2", "--patch", "12", "--threads", "1", "--val-every", "0",
          "--ckpt-every", "0"]


def test_a_pack_holds_the_camera_pairs_and_glyphs_each_hr_once(tmp_path: Path) -> None:
    from tools.train_sr import PatchSampler, main

    data = tiny_data(tmp_path / "sr")
    pack = tmp_path / "pack.npz"
    args = COMMON + ["--degradation", "camera", "--variants", "2", "--text-images", "3", "--text-heights", "3", "5",
                     "--seed", "5", "--data", str(data)]
    assert main(args + ["--pack-out", str(pack), "--out", str(tmp_path / "unused.pt")]) == 0
    assert not (tmp_path / "unused.pt").exists()
    built = PatchSampler(sorted((data / "train_t91").glob("*.png")) + sorted((data / "train_bsd200").glob("*.png")),
                         3, 12, 0.0, 5, degradation="camera", variants=2, text_images=3, text_heights=(3, 5))
    loaded = PatchSampler.load_pack(pack, 3, 12, 0.0, 9)
    assert len(loaded.pairs) == len(built.pairs) == 2 * (4 + 3)
    for (lr_a, hr_a), (lr_b, hr_b) in zip(built.pairs, loaded.pairs):
        assert np.array_equal(lr_a, lr_b)  # a camera's decoded LR is whole levels: stored exactly
        assert np.abs(hr_a - hr_b).max() <= 0.5 / 255 + 1e-6  # the HR rounded to whole levels
    for g_a, g_b in zip(built.glyphs, loaded.glyphs):
        assert np.array_equal(g_a, g_b)
    assert sum(len(g) for g in loaded.glyphs) > 0
    with np.load(pack) as z:
        assert sum(k.startswith("hr") and k != "hr_index" for k in z.files) == 4 + 3  # not once per camera copy
    assert loaded.meta["variants"] == 2 and loaded.meta["images"] == 4
    with pytest.raises(ValueError, match="holds x3 pairs, not x2"):
        PatchSampler.load_pack(pack, 2, 12, 0.0, 9)


def test_a_pack_trains_with_the_reading_loss_where_there_is_no_data(tmp_path: Path, capsys) -> None:
    from tools.train_sr import main

    data = tiny_data(tmp_path / "sr")
    pack = tmp_path / "pack.npz"
    assert main(COMMON + ["--degradation", "camera", "--variants", "1", "--text-images", "4", "--text-heights", "3",
                          "4", "--data", str(data), "--pack-out", str(pack), "--out", str(tmp_path / "u.pt")]) == 0
    out = tmp_path / "w.pt"
    assert main(COMMON + ["--pack", str(pack), "--read-weight", "0.03", "--reader-steps", "2",
                          "--steps", "2", "--data", str(tmp_path / "absent"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "no Set5 PSNR" in printed and "glyph reader written" in printed
    ESPCN(3).load_state_dict(torch.load(out, weights_only=True))  # a plain ESPCN, as a built run writes


def test_a_pack_of_clean_pairs_is_refused_before_any_work(tmp_path: Path, capsys) -> None:
    from tools.train_sr import main

    with pytest.raises(SystemExit) as stop:
        main(COMMON + ["--pack-out", str(tmp_path / "p.npz"), "--out", str(tmp_path / "w.pt")])
    assert stop.value.code == 2
    assert "--pack-out writes camera pairs" in capsys.readouterr().err
    assert not (tmp_path / "p.npz").exists()


def test_reading_and_writing_a_pack_at_once_is_refused(tmp_path: Path, capsys) -> None:
    from tools.train_sr import main

    (tmp_path / "in.npz").write_bytes(b"")
    with pytest.raises(SystemExit) as stop:
        main(COMMON + ["--degradation", "camera", "--pack", str(tmp_path / "in.npz"), "--pack-out",
                       str(tmp_path / "p.npz"), "--out", str(tmp_path / "w.pt")])
    assert stop.value.code == 2
    assert "give one of them" in capsys.readouterr().err
    assert not (tmp_path / "p.npz").exists()
