"""`vidclear batch` on this machine: eight clips (sizes differ, audio, variable frame rate, one corrupt),
a journal that resumes, kill -9 mid-run and resume, nothing partial at an output path."""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from media import BATCH_CLIPS, CORRUPT_CLIP, REPO, make_batch_clips, make_clip, probe


def batch(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidclear", "batch", *args, "--model", "espcn-x2"], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def assert_outputs_match_inputs(src: Path, out: Path) -> None:
    for name in BATCH_CLIPS:
        a, b = probe(src / name), probe(out / name)
        assert b.frames == a.frames > 0, name
        assert b.pts_s == pytest.approx(a.pts_s, abs=1e-3), name
        assert (b.width, b.height) == (2 * a.width, 2 * a.height), name
    assert probe(out / "c_audio.mp4").audio_end_s == pytest.approx(probe(src / "c_audio.mp4").audio_end_s, abs=0.05)


def no_partials(out: Path) -> list[str]:
    return [str(p) for p in out.rglob("*vidclear-partial*")]


def test_eight_clips_then_a_rerun_that_skips_what_is_done(tmp_path):
    src = make_batch_clips(tmp_path / "in")
    out = tmp_path / "out"
    r = batch(str(src), "-o", str(out))
    assert r.returncode == 1, r.stderr
    assert_outputs_match_inputs(src, out)
    assert not (out / CORRUPT_CLIP).exists() and no_partials(out) == []
    assert "7 enhanced, 0 skipped (done before), 1 failed" in r.stdout, r.stdout
    # the clips' 73 frames and the wall time to 0.01 s (tiny batches took "0.1 s", too coarse for a rate)
    assert re.search(r"; 73 frames in \d+\.\d\d s \(\d+\.\d fps overall\)", r.stdout), r.stdout
    error = [line for line in r.stderr.splitlines() if line.startswith("vidclear: error:")]
    assert len(error) == 1 and f"{src / CORRUPT_CLIP}: cannot open" in error[0], r.stderr
    assert "Traceback" not in r.stderr
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.suffix in (".mp4", ".mkv", ".mov", ".ts")}

    again = batch(str(src), "-o", str(out))
    assert again.returncode == 1
    assert "0 enhanced, 7 skipped (done before), 1 failed" in again.stdout, again.stdout
    assert f"{src / CORRUPT_CLIP}: cannot open" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes, "nothing was encoded again"
    journal = [json.loads(line) for line in (out / "vidclear-batch.jsonl").read_text().splitlines()]
    assert sorted(e["status"] for e in journal) == ["done"] * 7 + ["failed"] * 2  # the corrupt one, tried twice

    third = batch(str(src), "-o", str(out), "--retries", "1")  # 2 failures > 1 retry: given up, not run
    assert third.returncode == 1 and "gave up after 2 attempts" in third.stderr
    assert len((out / "vidclear-batch.jsonl").read_text().splitlines()) == 9
    # nothing left to run: no model is loaded (before, every backend was probed and the model loaded for nothing)
    assert "batch: 8 file(s), 0 to enhance, 7 already done\n" in third.stderr, third.stderr
    assert "backend auto" not in third.stderr and "loaded model" not in third.stderr, third.stderr


def test_inputs_that_match_nothing_or_collide_are_one_clear_line(tmp_path):
    make_batch_clips(tmp_path / "in")
    r = batch(str(tmp_path / "nowhere" / "*.mp4"), "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1] == \
        f"vidclear: error: no such file, folder or match: {tmp_path / 'nowhere' / '*.mp4'}"
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "a.mp4").write_bytes((tmp_path / "in" / "a.mp4").read_bytes())
    listing = tmp_path / "list.txt"
    listing.write_text(f"# two files named a.mp4\n{tmp_path / 'in' / 'a.mp4'}\n\n{tmp_path / 'other' / 'a.mp4'}\n")
    r = batch(f"@{listing}", "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and "would both be written to" in r.stderr and "Traceback" not in r.stderr
    if os.geteuid() == 0:  # a read-only output folder (a tmpfs mounted read-only; make test runs as root)
        ro = tmp_path / "ro"
        ro.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(ro)], check=True)
        try:
            r = batch(str(tmp_path / "in" / "a.mp4"), "-o", str(ro))
        finally:
            subprocess.run(["umount", str(ro)], check=True)
        assert r.returncode == 2 and r.stderr.strip().splitlines()[-1] == \
            f"vidclear: error: cannot write in the output folder {ro}: Read-only file system", r.stderr  # a traceback
    (tmp_path / "taken").write_text("a file where the output folder should go")
    r = batch(str(tmp_path / "in" / "a.mp4"), "-o", str(tmp_path / "taken"))
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1] == \
        f"vidclear: error: output folder {tmp_path / 'taken'} is a file: -o names the folder the outputs go in"


@pytest.mark.slow
def test_kill_9_mid_batch_then_the_same_command_completes(tmp_path):
    src = make_batch_clips(tmp_path / "in", frames_scale=12)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "vidclear", "batch", str(src), "-o", str(out), "--model", "espcn-x2",
            "--parallel", "2"]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    journal = out / "vidclear-batch.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        # kill with files done and others half written; between two files none is in flight
        if journal.exists() and len(journal.read_text().splitlines()) >= 2 and no_partials(out):
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the batch ended before it could be killed: make the clips longer"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(journal.read_text().splitlines())
    partial_then = no_partials(out)
    r = batch(str(src), "-o", str(out), "--parallel", "2")
    print(f"killed after {done_before} journal lines with {len(partial_then)} temporary files in flight; "
          f"resumed: {r.stdout.splitlines()[-1]}")
    assert r.returncode == 1, r.stderr
    assert partial_then, "files were being written when the batch was killed"
    assert no_partials(out) == [] and not (out / CORRUPT_CLIP).exists()
    assert_outputs_match_inputs(src, out)
    assert "removed" in r.stderr and "temporary file(s) an interrupted run left" in r.stderr


def test_a_journal_that_cannot_be_written_stops_the_batch_with_one_line(tmp_path):
    """The disk fills between an output and its journal line. A file size limit just above a long journal stands
    in for it: the outputs are small, the journal is not. It was a traceback (OSError from the journal's close)
    and the queued files went on being started."""
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.mp4", "b.mp4", "c.mp4"):
        make_clip(src / name, width=64, height=48, frames=8)
    out = tmp_path / "out"
    out.mkdir()
    journal = out / "vidclear-batch.jsonl"
    old = [json.dumps({"key": f"old{i}", "input": f"/old/{i}.mp4", "output": f"/o/{i}.mp4", "status": "done"})
           for i in range(2000)]
    journal.write_text("\n".join(old) + "\n")
    limit = journal.stat().st_size + 50

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    r = subprocess.run([sys.executable, "-m", "vidclear", "batch", str(src), "-o", str(out), "--model", "bicubic-x2",
                        "--parallel", "1"], cwd=REPO, capture_output=True, text=True, timeout=120,
                       preexec_fn=small_files)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines()[-1] == \
        f"vidclear: error: cannot write {journal}: the file size limit is reached", r.stderr
    assert "Traceback" not in r.stderr
    assert [p.name for p in out.glob("*.mp4")] == ["a.mp4"] and no_partials(out) == [], \
        "the file written before the failure is kept, and the queued ones were not started"
    assert probe(out / "a.mp4").frames == 8
    assert journal.read_text().splitlines()[:2000] == old, "the journal's entries are intact"


def test_an_excerpt_of_every_file_and_another_excerpt_is_another_job(tmp_path):
    """`batch --start --duration`: the same second of each recording (to preview settings on an archive); a run
    asking for another excerpt enhances again, the same one skips, and a still is taken whole."""
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.mp4", "b.mkv"):
        make_clip(src / name, width=64, height=48, frames=60, fps=30, audio=name == "a.mp4")
    (src / "snap.png").write_bytes(subprocess.run(  # a still beside them, given by name
        [sys.executable, "-c", "import cv2, numpy, sys; sys.stdout.buffer.write(cv2.imencode('.png', "
         "numpy.zeros((24, 32, 3), numpy.uint8))[1].tobytes())"], capture_output=True, check=True).stdout)
    out = tmp_path / "out"
    r = batch(str(src), str(src / "snap.png"), "-o", str(out), "--start", "0.5", "--duration", "1")
    assert r.returncode == 0, r.stderr
    for name in ("a.mp4", "b.mkv"):
        got = probe(out / name)
        assert got.frames == 30 and got.pts_s[0] == pytest.approx(0, abs=1e-3), (name, got.pts_s[:3])
    assert probe(out / "a.mp4").audio_end_s == pytest.approx(1.0, abs=0.05)
    assert probe(out / "snap.png").frames == 1
    again = batch(str(src), str(src / "snap.png"), "-o", str(out), "--start", "0.5", "--duration", "1")
    assert "0 enhanced, 3 skipped (done before)" in again.stdout, again.stdout
    shorter = batch(str(src), "-o", str(out), "--start", "0.5", "--duration", "0.5")
    assert shorter.returncode == 0 and "2 enhanced, 0 skipped" in shorter.stdout, shorter.stdout
    assert [probe(out / name).frames for name in ("a.mp4", "b.mkv")] == [15, 15]
    entries = [json.loads(line) for line in (out / "vidclear-batch.jsonl").read_text().splitlines()]
    assert sorted((Path(e["input"]).name, e.get("start"), e.get("duration")) for e in entries) == [
        ("a.mp4", 0.5, 0.5), ("a.mp4", 0.5, 1.0), ("b.mkv", 0.5, 0.5), ("b.mkv", 0.5, 1.0), ("snap.png", None, None)]
