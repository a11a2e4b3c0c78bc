"""The reading loss's parts: where train_sr.py's text puts each character, how a flipped patch's glyphs are cut
back upright, that asking for glyphs leaves the seeded batches alone, and that a trained reader names clean
glyphs and charges a blurred one more."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from media import REPO
from vidclear.training.glyphs import WINDOW, GlyphReader, ReadingLoss, glyph_crops, named, train_reader

sys.path.insert(0, str(REPO))
from tools.train_sr import TEXT_CHARS, PatchSampler, glyphs_inside, text_blocks, text_lines  # noqa: E402


def text_sampler(seed: int = 7, blocks: int = 40) -> PatchSampler:
    return PatchSampler([], 3, 24, 0.0, seed, text_images=blocks, text_heights=(3, 9))


def test_each_glyph_row_sits_on_its_ink_and_the_images_are_those_of_text_lines():
    blocks = text_blocks(6, 3, np.random.default_rng(5), (3, 9))
    assert all(np.array_equal(img, again) for (img, _), again in
               zip(blocks, text_lines(6, 3, np.random.default_rng(5), (3, 9)), strict=True))
    for img, glyphs in blocks:
        assert len(glyphs) >= 8 and glyphs.shape[1] == 4
        assert set(glyphs[:, 3].astype(int)) <= set(range(len(TEXT_CHARS)))
        ground = np.median(img)
        for y, x, cap, _ in glyphs:
            core = img[int(y - cap / 4):int(y + cap / 4) + 1, int(x - cap / 4):int(x + cap / 4) + 1]
            assert np.abs(core - ground).max() > 40, f"no ink near the glyph at ({y:.0f}, {x:.0f})"
        left = int(glyphs[:, 1].min() - glyphs[:, 2].max())  # left of every glyph's box: ground only
        assert left <= 0 or np.abs(img[:, :left] - ground).max() < 1


def test_glyphs_inside_keeps_whole_windows_in_patch_pixels():
    glyphs = np.array([[30.0, 30.0, 10.0, 3], [30.0, 5.0, 10.0, 4], [60.0, 60.0, 10.0, 5]])
    rows = glyphs_inside(glyphs, 10, 10, 60, index=2, k=5)
    assert rows.tolist() == [[2, 20, 20, 10, 3, 5], [2, 50, 50, 10, 5, 5]]
    assert WINDOW * 10 / 2 == 8, "the middle glyph, 5 px from the patch's edge, has half its window outside"


def test_asking_for_glyphs_draws_the_same_batches():
    a, b = text_sampler(), text_sampler()
    for _ in range(3):
        lr, hr, glyphs = a.batch(16, glyphs=True)
        lr2, hr2 = b.batch(16)
        assert torch.equal(lr, lr2) and torch.equal(hr, hr2)
    assert len(glyphs) > 0


def test_crops_of_flipped_patches_come_out_upright():
    lr, hr, glyphs = text_sampler(3).batch(32, glyphs=True)
    assert len(set(glyphs[:, 5].tolist())) >= 3, "several orientations among the patches"
    upright = hr.clone()
    for j, k in {int(g[0]): int(g[5]) for g in glyphs}.items():
        b = hr[j, 0]
        if k & 1:
            b = b.flip(1)
        if k & 2:
            b = b.flip(0)
        if k & 4:
            b = b.T
        upright[j, 0] = b
    plain = glyphs.clone()
    plain[:, 5] = 0
    assert (glyph_crops(hr, glyphs) - glyph_crops(upright, plain)).abs().max() < 1e-4
    assert (glyph_crops(hr, glyphs) - glyph_crops(hr, plain)).abs().max() > 0.2, "orientation matters"


@pytest.mark.slow
def test_a_trained_reader_names_clean_glyphs_and_charges_blurred_ones_more():
    torch.manual_seed(0)
    train, fresh = text_sampler(11, 120), text_sampler(12, 40)
    reader = train_reader(lambda: train.batch(32, glyphs=True)[1:], 300, seed=1, log=lambda _: None)
    _, hr, glyphs = fresh.batch(64, glyphs=True)
    with torch.no_grad():
        assert named(reader, glyph_crops(hr, glyphs), glyphs).float().mean() > 0.8
        loss = ReadingLoss(reader)
        blurred = F.avg_pool2d(F.interpolate(hr, scale_factor=1 / 3, mode="area"), 3, 1, 1)
        blurred = F.interpolate(blurred, scale_factor=3, mode="bilinear")
        assert loss(hr, glyphs) < 0.5 < loss(blurred, glyphs)
    assert loss(hr, glyphs[:0]) == 0, "a batch without text costs nothing"
    assert not any(p.requires_grad for p in loss.parameters()), "the reader stays as trained"
    assert isinstance(loss.reader, GlyphReader)


def test_a_reading_loss_without_training_text_is_refused_before_any_work(tmp_path, capsys):
    from tools.train_sr import main

    with pytest.raises(SystemExit) as stop:
        main(["--scale", "3", "--read-weight", "0.03", "--out", str(tmp_path / "w.pt")])
    assert stop.value.code == 2
    assert "--read-weight reads the training text: give --text-images too" in capsys.readouterr().err
    assert not any(tmp_path.iterdir()), "nothing written"


def test_a_binarizing_reader_sees_a_crop_as_its_threshold_and_carries_k_in_its_file(tmp_path):
    torch.manual_seed(0)
    crops = F.avg_pool2d(torch.rand(6, 1, 36, 36), 5, stride=1)  # smooth grey crops, 32 x 32
    thresholded = (crops > crops.mean((2, 3), keepdim=True)).float()
    hard, grey = GlyphReader(binarize=1000.0).eval(), GlyphReader().eval()
    grey.load_state_dict({k: v for k, v in hard.state_dict().items() if k != "binarize"})  # a file from before k
    assert float(grey.binarize) == 0.0
    with torch.no_grad():  # the same weights: thresholding moves what the grey reader says, not the hard one
        moved_hard = (hard(crops) - hard(thresholded)).abs().max()
        moved_grey = (grey(crops) - grey(thresholded)).abs().max()
    assert moved_grey > 0 and moved_hard < 0.1 * moved_grey
    torch.save(hard.state_dict(), tmp_path / "reader.pt")
    again = GlyphReader()
    again.load_state_dict(torch.load(tmp_path / "reader.pt", weights_only=True))
    assert float(again.binarize) == 1000.0


def test_a_reader_inside_another_module_loads_a_file_from_before_binarize():
    hard = ReadingLoss(GlyphReader(binarize=1000.0))
    old = {k: v for k, v in hard.state_dict().items() if k != "reader.binarize"}  # a saved loss, nested reader
    again = ReadingLoss(GlyphReader(binarize=5.0))
    again.load_state_dict(old)  # strict: the missing buffer is filled in, under its prefix
    assert float(again.reader.binarize) == 0.0
    assert torch.equal(again.reader.head[-1].weight, hard.reader.head[-1].weight)
    with pytest.raises(RuntimeError, match="Unexpected key"):  # the filling-in does not make loading lax
        again.load_state_dict({**old, "reader.extra": torch.zeros(1)})
