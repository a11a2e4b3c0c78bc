"""The synthetic text train_sr.py adds for the -cctv models: seeded, tall enough to cut patches from, in
video-range luma, never in the benchmark's font, and a missing font named with its Debian package."""

import shutil
import sys

import numpy as np
import pytest

from media import REPO
from vidclear.evaluation.legibility import FONT

sys.path.insert(0, str(REPO))
from tools.train_sr import TEXT_FONTS, text_fonts, text_lines  # noqa: E402


def test_text_blocks_are_seeded_tall_enough_and_in_video_range():
    blocks = text_lines(12, 3, np.random.default_rng(5), (3, 9))
    again = text_lines(12, 3, np.random.default_rng(5), (3, 9))
    assert len(blocks) == 12
    assert all(np.array_equal(a, b) for a, b in zip(blocks, again, strict=True))
    for block in blocks:
        assert block.shape[0] >= 40 * 3, "at least 40 LR rows, so 32-pixel patches fit"
        assert 16 <= block.min() < block.max() <= 235
    # either polarity: some blocks are mostly light (dark text), some mostly dark
    light = [float(np.median(b)) > 125.5 for b in blocks]
    assert any(light) and not all(light)


def test_plate_blocks_are_bordered_light_plates_and_leave_the_line_draw_alone():
    assert all(np.array_equal(a, b) for a, b in zip(text_lines(6, 3, np.random.default_rng(5), (3, 9), plates=0.0),
                                                    text_lines(6, 3, np.random.default_rng(5), (3, 9)), strict=True))
    plates = text_lines(8, 3, np.random.default_rng(5), (3, 9), plates=1.0)
    for block in plates:
        assert min(block.shape) >= 40 * 3, "32-pixel LR patches fit both ways"
        assert 16 <= block.min() < block.max() <= 235
        assert (block >= 170 * 219 / 255 + 16).mean() > 0.1, "light plates"
        assert (block <= 80 * 219 / 255 + 16).any(), "dark text and borders on them"


def test_the_benchmark_font_is_never_a_training_font():
    assert FONT.name not in TEXT_FONTS
    assert [p.name for p in text_fonts()] == list(TEXT_FONTS)


def test_a_missing_font_stops_with_one_line_naming_its_package(tmp_path, capsys):
    for name in TEXT_FONTS:
        if TEXT_FONTS[name] == "fonts-dejavu-core":
            shutil.copy(FONT.parent / name, tmp_path / name)
    with pytest.raises(SystemExit) as stop:
        text_lines(3, 2, np.random.default_rng(0), (3, 5), folder=tmp_path)
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"train_sr: the training text needs {tmp_path / 'DejaVuSansCondensed-Bold.ttf'}: "
                   "apt-get install fonts-dejavu-extra")
    assert text_lines(0, 2, np.random.default_rng(0), folder=tmp_path) == [], "no text asked for, no font needed"


def test_more_fonts_come_after_the_cards_fonts_and_a_missing_one_names_its_package(tmp_path, monkeypatch, capsys):
    import tools.train_sr as train_sr

    assert FONT not in train_sr.MORE_TEXT_FONTS and FONT.name not in {p.name for p in train_sr.MORE_TEXT_FONTS}
    for name in TEXT_FONTS:
        shutil.copy(FONT.parent / name, tmp_path / name)
    present, absent = tmp_path / "Present-Bold.ttf", tmp_path / "Absent-Bold.ttf"
    shutil.copy(FONT.parent / "DejaVuSansMono-Bold.ttf", present)
    monkeypatch.setattr(train_sr, "MORE_TEXT_FONTS", {present: "fonts-present", absent: "fonts-absent"})
    assert text_fonts(tmp_path) == [tmp_path / n for n in TEXT_FONTS], "without --more-fonts, the cards' fonts only"
    with pytest.raises(SystemExit) as stop:
        text_fonts(tmp_path, more=True)
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip() == f"train_sr: the training text needs {absent}: apt-get install fonts-absent"
    monkeypatch.setattr(train_sr, "MORE_TEXT_FONTS", {present: "fonts-present"})
    assert text_fonts(tmp_path, more=True) == [tmp_path / n for n in TEXT_FONTS] + [present]


def test_a_users_own_face_comes_last_and_draws_some_of_the_text(tmp_path):
    face = tmp_path / "Plate-Bold.ttf"
    shutil.copy(FONT.parent / "DejaVuSansMono-Bold.ttf", face)
    assert text_fonts(extra=(face,)) == text_fonts() + [face], "after the cards' fonts, which keep their order"
    plain = text_lines(8, 3, np.random.default_rng(5), (3, 9))
    mono = text_lines(8, 3, np.random.default_rng(5), (3, 9), extra_fonts=(face,))
    assert len(mono) == 8 and any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(plain, mono)), \
        "a fifth face changes the seeded draw"


def test_a_missing_text_font_is_refused_before_any_work(tmp_path, capsys):
    from tools.train_sr import main

    with pytest.raises(SystemExit) as stop:
        main(["--scale", "3", "--text-images", "10", "--text-font", str(tmp_path / "none.ttf"),
              "--out", str(tmp_path / "w.pt")])
    assert stop.value.code == 2
    assert f"--text-font {tmp_path / 'none.ttf'}: no such font file" in capsys.readouterr().err
    assert not (tmp_path / "w.pt").exists()
