"""What a recording keeps of its source and says of its making (its container tags)."""

from __future__ import annotations

import av
from PIL import Image

from live_process import run
from media import make_clip
from vidclear import __version__


def tags_of(path) -> dict[str, str]:
    with av.open(str(path)) as c:
        return {key.lower(): value for key, value in c.metadata.items()}


def test_the_recording_says_how_it_was_made(tmp_path):
    clip = make_clip(tmp_path / "cam.mp4", width=160, height=120, frames=3)
    for name in ("plate.mp4", "plate.mkv"):
        out = tmp_path / name
        r = run("enhance", str(clip), str(out), "--model", "espcn-x2-cctv", "--crop", "41,30,64,48", "--reuse", "auto",
                "--deinterlace", "on", "--night", "auto")
        assert r.returncode == 0, r.stderr
        assert tags_of(out)["comment"] == (
            f"enhanced by vidclear {__version__} from cam.mp4: model espcn-x2-cctv (x2); night mode auto (lowlight); "
            "region 40,30,64,48 (x, y, width, height); deinterlace on; tile reuse on (a tile whose input did not "
            "change keeps its earlier output)"), name


def test_a_copy_keeps_the_sources_recording_time_title_and_comment(tmp_path):
    clip = make_clip(tmp_path / "dvr.mkv", width=64, height=48, frames=3, tags={
        "creation_time": "2025-03-14T02:30:00.000000Z", "title": "Gate 3", "comment": "exported by the DVR",
        "software": "DVR Export 2.1"})
    assert tags_of(clip)["software"] == "DVR Export 2.1"
    for name in ("copy.mp4", "copy.mkv", "copy.mov"):
        r = run("enhance", str(clip), str(tmp_path / name), "--model", "bicubic-x2")
        assert r.returncode == 0, r.stderr
        tags = tags_of(tmp_path / name)
        assert tags["creation_time"] == "2025-03-14T02:30:00.000000Z", name
        assert tags["title"] == "Gate 3", name
        assert tags["comment"] == (f"enhanced by vidclear {__version__} from dvr.mkv: model bicubic-x2 (x2); "
                                   "deinterlace auto (the source's comment: exported by the DVR)"), name
        # the program that wrote the source is not passed off as this file's: its muxer names its own
        assert "software" not in tags and tags["encoder"].startswith("Lavf"), (name, tags)


def test_an_excerpt_says_which_part_of_the_source_it_is(tmp_path):
    clip = make_clip(tmp_path / "cam.mp4", width=64, height=48, frames=30, fps=10)
    cases = {("--start", "0.5", "--duration", "1"): "cam.mp4 (0.5 s to 1.5 s)",
             ("--max-frames", "2"): "cam.mp4 (its first 2 frames)",
             ("--start", "2", "--max-frames", "4"): "cam.mp4 (2 s to its end, at most 4 frames)"}
    for i, (flags, origin) in enumerate(cases.items()):
        out = tmp_path / f"part{i}.mkv"
        r = run("enhance", str(clip), str(out), "--model", "bicubic-x2", *flags)
        assert r.returncode == 0, r.stderr
        assert tags_of(out)["comment"].startswith(f"enhanced by vidclear {__version__} from {origin}: model"), flags


def test_a_picture_says_how_it_was_made_and_keeps_the_sources_tags(tmp_path):
    """A still taken from a recording is handed on as often as a video: PNG text chunks, JPEG's comment marker
    and EXIF (description, software, time taken) carry what a video's tags do."""
    clip = make_clip(tmp_path / "dvr.mkv", width=64, height=48, frames=30, fps=10, tags={
        "creation_time": "2025-03-14T02:30:00.000000Z", "title": "Gate 3 ü"})
    note = f"enhanced by vidclear {__version__} from dvr.mkv (its first frame from 1.5 s): model bicubic-x2 (x2)"
    for name in ("still.png", "still.jpg"):
        r = run("enhance", str(clip), str(tmp_path / name), "--model", "bicubic-x2", "--start", "1.5",
                "--max-frames", "1")
        assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "still.png") as png:
        text = dict(png.text)
    assert text["Comment"].startswith(note) and text["Title"] == "Gate 3 ü", text
    assert text["Creation Time"] == "2025-03-14T02:30:00.000000Z" and text["Software"] == f"vidclear {__version__}"
    with Image.open(tmp_path / "still.jpg") as jpg:
        comment, exif = jpg.info["comment"].decode("utf-8"), jpg.getexif()
        taken = exif.get_ifd(0x8769)[0x9003]
    assert comment == text["Comment"] and exif[0x010E] == comment and exif[0x0131] == f"vidclear {__version__}"
    assert taken == "2025:03:14 02:30:00", taken
