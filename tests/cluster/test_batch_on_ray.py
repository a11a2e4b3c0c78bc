"""`vidclear batch --ray` on a real two-node Ray cluster on 127.0.0.1: the same outputs as a local batch,
work on both nodes, a node removed mid-run, resuming from the driver's journal, a cluster not there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import start_cluster
from media import BATCH_CLIPS, CORRUPT_CLIP, REPO, make_batch_clips, probe
from vidclear.evaluation.metrics import psnr

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def batch(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidclear", "batch", *args, "--model", "espcn-x2"], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


def planes(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="yuv420p") for f in c.decode(video=0)]


def min_psnr(a: Path, b: Path) -> tuple[float, str]:
    """The lowest PSNR of a frame pair, and where it is (frame, pixels that differ, largest difference),
    so that a failure says whether one frame, a few pixels or everything moved."""
    worst, where = float("inf"), "identical"
    for i, (x, y) in enumerate(zip(planes(a), planes(b), strict=True)):
        diff = np.abs(x.astype(np.int16) - y)
        if (value := psnr(x, y)) < worst:
            worst, where = value, f"frame {i}: {int(np.count_nonzero(diff))} of {diff.size} values differ, by up to {int(diff.max())}"
    return worst, where


def nodes_in(stdout: str) -> set[str]:
    """The node column of the summary table."""
    lines = stdout.splitlines()
    start = lines[0].index("node")
    return {line[start:start + 12].strip() for line in lines[1:] if " done " in line}


def journal(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "vidclear-batch.jsonl").read_text().splitlines()]


def test_batch_on_two_nodes_equals_the_local_batch_and_uses_both(tmp_path, two_nodes):
    cluster, _ = two_nodes
    # files long enough (about a second each) that the second node's worker is up before the first node
    # could have finished them all
    src = make_batch_clips(tmp_path / "in", frames_scale=6)
    local, remote = tmp_path / "local", tmp_path / "ray"
    assert batch(str(src), "-o", str(local)).returncode == 1
    r = batch(str(src), "-o", str(remote), "--ray", cluster.address)
    print(r.stdout)
    assert r.returncode == 1, r.stderr
    assert "7 enhanced, 0 skipped (done before), 1 failed" in r.stdout
    assert f"{src / CORRUPT_CLIP}: cannot open" in r.stderr
    worst = {name: min_psnr(local / name, remote / name) for name in BATCH_CLIPS}
    print("lowest PSNR of a frame, Ray against local (dB):", worst)
    assert all(v >= 60 for v, _ in worst.values()), worst
    for name in BATCH_CLIPS:
        assert probe(remote / name).pts_s == pytest.approx(probe(src / name).pts_s, abs=1e-3)
    assert len(nodes_in(r.stdout)) == 2, "both worker nodes enhanced files"

    again = batch(str(src), "-o", str(remote), "--ray", cluster.address)  # the driver's journal resumes
    assert again.returncode == 1 and "0 enhanced, 7 skipped (done before), 1 failed" in again.stdout

    clip, cut = str(src / "c_audio.mp4"), ("--start", "0.5", "--duration", "0.5")  # the excerpt travels to the node
    assert batch(clip, "-o", str(tmp_path / "cut_local"), *cut).returncode == 0
    r = batch(clip, "-o", str(tmp_path / "cut_ray"), "--ray", cluster.address, *cut)
    assert r.returncode == 0, r.stderr
    ours, theirs = probe(tmp_path / "cut_local" / "c_audio.mp4"), probe(tmp_path / "cut_ray" / "c_audio.mp4")
    assert 0 < theirs.frames == ours.frames < probe(src / "c_audio.mp4").frames and theirs.pts_s[0] == 0
    assert min_psnr(tmp_path / "cut_local" / "c_audio.mp4", tmp_path / "cut_ray" / "c_audio.mp4")[0] >= 60


def test_a_node_removed_mid_batch_leaves_every_file_done_once(tmp_path):
    cluster, nodes = start_cluster(2)
    try:
        src = make_batch_clips(tmp_path / "in", frames_scale=10)
        out = tmp_path / "out"
        proc = subprocess.Popen([sys.executable, "-m", "vidclear", "batch", str(src), "-o", str(out), "--model",
                                 "espcn-x2", "--ray", cluster.address], cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / "vidclear-batch.jsonl").exists() and journal(out):
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the batch ended before a node could be removed: make the clips longer"
        removed_after = len(journal(out))
        cluster.remove_node(nodes[0])
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        cluster.shutdown()
    print(f"node removed after {removed_after} file(s) finished\n{stdout}")
    assert proc.returncode == 1, stderr
    entries = journal(out)
    done = [Path(e["input"]).relative_to(src).as_posix() for e in entries if e["status"] == "done"]
    assert sorted(done) == sorted(BATCH_CLIPS), "every good file done exactly once"
    assert [e["status"] for e in entries if e["input"].endswith(CORRUPT_CLIP)] == ["failed"]
    for name in BATCH_CLIPS:
        assert probe(out / name).frames == probe(src / name).frames
    assert not list(out.rglob("*vidclear-partial*"))


def test_a_cluster_that_is_not_there_is_one_clear_line(tmp_path):
    src = make_batch_clips(tmp_path / "in")
    r = batch(str(src / "a.mp4"), "-o", str(tmp_path / "out"), "--ray", "127.0.0.1:1", timeout=120)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("vidclear: error: cannot join the Ray cluster at 127.0.0.1:1"), r.stderr
    assert "Traceback" not in r.stderr


def test_without_ray_installed_the_flag_says_what_to_install(tmp_path):
    src = make_batch_clips(tmp_path / "in")
    code = ("import sys; sys.modules['ray'] = None; from vidclear.cli import main; "
            f"sys.exit(main(['batch', {str(src / 'a.mp4')!r}, '-o', {str(tmp_path / 'out')!r}, '--ray']))")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip() == "vidclear: error: --ray and cluster.address need Ray on this machine: pip install 'vidclear[cluster]'"
    assert not (tmp_path / "out").exists()
