"""Retention of a camera's segments (live.keep_hours, keep_gb, keep_free_gb), against a real RTSP camera."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import pytest

from live_process import (Running, frame_times, http_get, parse_metrics, run, sample_values, segment_frames,
                          wait_healthy, write_config)
from live_servers import free_port

pytestmark = pytest.mark.live


def old_file(path: Path, hours_ago: float, size: int = 100) -> Path:
    """A file last written ``hours_ago`` (an earlier run's segment, or something else in the folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)
    t = time.time() - hours_ago * 3600
    os.utime(path, (t, t))
    return path


def record(tmp_path: Path, url: str, pattern: str, live: str, seconds: str = "2.5"):
    cfg = write_config(tmp_path / "rec.yaml", f"model: bicubic-x2\nlive: {{segment_seconds: 1, {live}}}\n")
    return run("enhance", url, str(tmp_path / pattern), "--config", str(cfg), "--duration", seconds, timeout=60)


def test_segments_older_than_keep_hours_go_and_nothing_the_pattern_does_not_name(tmp_path, rtsp_servers):
    cam = rtsp_servers("camera", "--fps", "10")
    rec = tmp_path / "rec"
    gone = [old_file(rec / "door_20240101_000000.ts", 3), old_file(rec / "door_20240101_000000_1.ts", 2.5)]
    kept = [old_file(rec / "door_20240101_010000.ts", 0.5),  # younger than keep_hours
            old_file(rec / "door_side_20240101_000000.ts", 3),  # another camera's
            old_file(rec / "door_2024010_000000.ts", 3),  # not what %Y%m%d writes
            old_file(rec / "door_20240101_000000.mp4", 3),  # another extension
            old_file(rec / "notes.txt", 3)]
    r = record(tmp_path, cam.url, "rec/door_%Y%m%d_%H%M%S.ts", "keep_hours: 1")
    assert r.returncode == 0, r.stderr
    assert "retention of " in r.stderr and ": removed 2 segments older than 1 h" in r.stderr, r.stderr
    assert not any(p.exists() for p in gone) and all(p.exists() for p in kept)
    new = [seg for seg in rec.glob("door_2*.ts") if seg not in kept]
    assert len(new) >= 2 and all(frame_times(seg) for seg in new)  # the camera's own segments, each playing


def test_beyond_keep_gb_the_oldest_go_first_and_their_dated_folders_with_them(tmp_path, rtsp_servers):
    cam = rtsp_servers("camera", "--fps", "10")
    rec = tmp_path / "rec"
    oldest = old_file(rec / "2024-01-01" / "door_000000.ts", 30, size=700_000)
    older = old_file(rec / "2024-01-02" / "door_000000.ts", 20, size=100_000)
    other = old_file(rec / "2024-01-01-copy" / "door_000000.ts", 40, size=100_000)  # not a %Y-%m-%d folder
    r = record(tmp_path, cam.url, "rec/%Y-%m-%d/door_%H%M%S.ts", "keep_gb: 0.0008")
    assert r.returncode == 0, r.stderr
    assert ": removed 1 segment beyond 0.0008 GB" in r.stderr, r.stderr
    assert not oldest.exists() and not oldest.parent.exists()  # its folder, emptied, went with it
    assert older.exists() and other.exists()
    today = [p for p in rec.glob("*/door_*.ts") if p.parent.name == time.strftime("%Y-%m-%d", time.localtime())]
    assert len(today) >= 2  # the camera's new segments, in a folder made for today
    assert sum(p.stat().st_size for p in [older, *today]) <= 800_000


def test_while_the_disk_is_short_every_segment_but_the_open_one_goes(tmp_path, rtsp_servers):
    """keep_free_gb larger than any disk: each new segment removes all the older ones, never itself."""
    cam = rtsp_servers("camera", "--fps", "10")
    old_file(tmp_path / "rec" / "gate_000000.ts", 1)
    r = record(tmp_path, cam.url, "rec/gate_%H%M%S.ts", "keep_free_gb: 1000000", seconds="3.5")
    assert r.returncode == 0, r.stderr
    assert "segment while under 1e+06 GB free" in r.stderr, r.stderr
    [(last, pts)] = segment_frames(tmp_path / "rec")
    started = [line.split("segment ")[1].split(" started")[0] for line in r.stderr.splitlines() if " started" in line]
    assert len(started) >= 3 and Path(started[-1]).name == last.name and pts  # the one written last, whole
    assert f"retention: removed {len(started)} old segments (" in r.stdout, r.stdout


def test_serve_keeps_each_cameras_own_limits_and_counts_what_it_removed(tmp_path, rtsp_servers):
    cam = rtsp_servers("camera", "--fps", "10")
    port = free_port()
    cfg = write_config(tmp_path / "cams.yaml", f"""
model: bicubic-x2
live: {{segment_seconds: 1}}
metrics: {{port: {port}}}
cameras:
  - {{name: door, url: "{cam.url}", outputs: ["{tmp_path}/door_%H%M%S.ts"], keep_gb: 0.000001}}
  - {{name: yard, url: "{cam.url}", outputs: ["{tmp_path}/yard_%H%M%S.ts"]}}
""")
    check = run("serve", str(cfg), "--check", timeout=60)
    assert check.returncode == 0, check.stderr
    assert f"{tmp_path}/door_%H%M%S.ts (retention: 1e-06 GB)" in check.stdout, check.stdout
    assert f"{tmp_path}/yard_%H%M%S.ts " in check.stdout and check.stdout.count("retention") == 1, check.stdout
    proc = Running("serve", str(cfg), "--duration", "60")
    wait_healthy(port, ["door", "yard"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        families = parse_metrics(http_get(f"http://127.0.0.1:{port}/metrics")[1])
        removed = sample_values(families, "vidclear_output_removed_segments_total")
        health = json.loads(http_get(f"http://127.0.0.1:{port}/healthz")[1])["cameras"]
        if removed.get("door", 0) >= 2:
            break
        time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert re.search(r"camera door: \d+ frames in, \d+ out, 0 reconnects; retention removed \d+ old segments", err), err
    assert re.search(r"camera yard: \d+ frames in, \d+ out, 0 reconnects\n", err), err
    assert removed.get("door", 0) >= 2 and "yard" not in removed, removed  # only door has a limit
    assert sample_values(families, "vidclear_output_removed_bytes_total")["door"] > 0
    free = {s.labels["output"]: s.value for s in families["vidclear_output_disk_free_bytes"].samples}
    assert set(free) == {f"{tmp_path}/door_%H%M%S.ts", f"{tmp_path}/yard_%H%M%S.ts"} and min(free.values()) > 0
    assert health["door"]["outputs"][0]["disk_free_bytes"] > 0
    assert len(list(tmp_path.glob("door_*.ts"))) <= 2  # each new segment took the ones before (a 1 kB cap)
    assert len(list(tmp_path.glob("yard_*.ts"))) >= 3


def test_a_recording_is_never_written_over(tmp_path, rtsp_servers):
    """A pattern whose name comes round again (here the year alone: every segment the same name; in life a
    time without the date, or a restart within a second) gets _1, _2, ...: last year's file stays as it was."""
    cam = rtsp_servers("camera", "--fps", "10")
    year = time.strftime("%Y")
    earlier = old_file(tmp_path / "rec" / f"door_{year}.ts", 24, size=1234)
    r = record(tmp_path, cam.url, "rec/door_%Y.ts", "keep_hours: 100", seconds="3.5")
    assert r.returncode == 0, r.stderr
    assert earlier.read_bytes() == b"\0" * 1234
    new = sorted(p.name for p in (tmp_path / "rec").iterdir() if p != earlier)
    assert len(new) >= 3 and new == sorted(f"door_{year}_{n}.ts" for n in range(1, len(new) + 1)), new
    assert all(frame_times(tmp_path / "rec" / name) for name in new)
