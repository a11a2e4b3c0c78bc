"""vidclear bench on a few frames, so it keeps working (speed goals live in the bench, not here)."""

import json
import subprocess
import sys

import pytest

from media import REPO, make_clip, shared_data

FIELDS = {"name", "kind", "backend", "fps", "core_ms_per_frame", "psnr_set5", "peak_rss_mb"}


@pytest.mark.slow
def test_bench_json_has_every_row_and_field(tmp_path):
    clip = shared_data("clips", "car_traffic_small_640x360.mp4")
    out = tmp_path / "b.json"
    md = tmp_path / "b.md"
    r = subprocess.run([sys.executable, "-m", "vidclear", "bench", "--clip", str(clip), "--frames", "4",
                        "--model", "espcn-x2", "--json", str(out), "--markdown", str(md), "--quiet"],
                       capture_output=True, text=True, timeout=900, cwd=REPO)
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    assert {"machine", "clip", "scale", "results"} <= set(report)
    assert report["scale"] == 2 and report["machine"]["cores"] >= 1
    names = {row["name"] for row in report["results"]}
    assert {"vidclear_pipeline", "sequential_loop", "opencv_dnn_superres_espcn", "bicubic_opencv",
            "decode", "preprocess", "cpu_work_bound"} <= names
    for row in report["results"]:
        assert FIELDS <= set(row), row
        assert row["kind"] in ("stage", "end_to_end", "peer")
        assert row["fps"] > 0
    by = {row["name"]: row for row in report["results"]}
    assert by["vidclear_pipeline"]["psnr_set5"] > by["bicubic_opencv"]["psnr_set5"]
    # the bound is taken from the cheapest inference row of the backend the pipeline used
    label = by["vidclear_pipeline"]["backend"]
    infer = [row for row in report["results"] if row["kind"] == "stage" and row["backend"] == label]
    if report["machine"]["cores"] >= 2:
        assert any(row["name"].startswith(f"infer_{label}_2x") for row in infer)  # as the pipeline runs it
    others = sum(by[n]["core_ms_per_frame"] for n in ("decode", "preprocess", "encode_ultrafast"))
    cheapest = min(row["core_ms_per_frame"] for row in infer)
    assert by["cpu_work_bound"]["core_ms_per_frame"] == pytest.approx(cheapest + others)
    assert by["cpu_work_bound"]["fps"] == pytest.approx(report["machine"]["cores"] * 1000 / (cheapest + others))
    assert "| vidclear_pipeline |" in md.read_text() and "| vidclear_pipeline |" in r.stdout
    reuse = by["vidclear_pipeline_reuse"]  # the same pipeline with static-camera reuse, in the same run
    assert reuse["kind"] == "end_to_end" and reuse["fps"] > 0
    assert 0 < reuse["changed_tile_share"] <= 1
    assert reuse["min_psnr_vs_full_db"] >= 30  # 4 frames of a moving scene: most of each is recomputed


@pytest.mark.parametrize("mode", [["--frames", "2"], ["--capacity", "--seconds", "1"]])
@pytest.mark.parametrize(("name", "message"), [
    ("missing.mp4", "input not found: {clip}"),
    ("junk.mp4", "cannot open {clip} as a video (not a video file, or damaged before frame 0)"),
])
def test_a_clip_that_is_missing_or_no_video_is_one_line(tmp_path, name, message, mode):
    """A clip of junk bytes was a PyAV traceback (after Set5 had been scored, without --capacity)."""
    clip = tmp_path / name
    if name == "junk.mp4":
        clip.write_bytes(bytes(range(256)) * 16)
    r = subprocess.run([sys.executable, "-m", "vidclear", "bench", "--clip", str(clip), *mode, "--quiet"],
                       capture_output=True, text=True, timeout=60, cwd=REPO)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidclear: error: ") and message.format(clip=clip) in lines[0], \
        r.stderr


@pytest.mark.slow
def test_bench_without_the_shared_data_measures_speed_and_says_what_it_left_out(tmp_path, monkeypatch, caplog):
    """A clone without ../shared: bench stopped on Set5 ('dataset folder not found'), then on INT8's calibration
    images, though the user had given a clip; its default clip was 'input not found: .../car_traffic...'."""
    from vidclear import bench
    from vidclear.errors import InputError
    from vidclear.evaluation import opencv_peer
    from vidclear.export import onnx_export

    gone = tmp_path / "shared" / "data"
    monkeypatch.setattr(bench, "DEFAULT_CLIP", gone / "clips" / "c.mp4")
    monkeypatch.setattr(bench, "SET5", gone / "sr" / "set5")
    monkeypatch.setattr(opencv_peer, "MODELS_DIR", gone / "baselines" / "opencv_superres")
    monkeypatch.setattr(onnx_export, "SHARED_DATA", gone)
    monkeypatch.setenv("VIDCLEAR_ENGINES", str(tmp_path / "engines"))  # no INT8 export cached before
    with pytest.raises(InputError) as e:
        bench.default_clip()
    assert str(e.value) == (f"bench's default clip is not here: {gone / 'clips' / 'c.mp4'} (the shared data beside "
                            "the repository); give one with --clip FILE")
    clip = make_clip(tmp_path / "in.mp4", 64, 48, frames=4)
    with caplog.at_level("WARNING"):
        report = bench.run_bench(clip, 3, "espcn-x2")
    by = {row["name"]: row for row in report["results"]}
    assert by["vidclear_pipeline"]["fps"] > 0 and by["bicubic_opencv"]["fps"] > 0
    assert "infer_onnxruntime-cpu" in by and "infer_onnxruntime-cpu-int8" not in by, list(by)
    assert "opencv_dnn_superres_espcn" not in by and all(row["psnr_set5"] is None for row in by.values())
    said = {r.getMessage() for r in caplog.records if r.levelname == "WARNING"}
    assert {f"Set5 is not at {gone / 'sr' / 'set5'} (the shared data beside the repository): the PSNR column "
            "stays empty",
            f"INT8 calibration needs the training images in {gone / 'sr' / 'train_t91'}; running 'espcn-x2' at fp32",
            f"OpenCV's pretrained ESPCN is not at {gone / 'baselines' / 'opencv_superres'} (the shared data beside "
            "the repository): its row is left out"} <= said, said
