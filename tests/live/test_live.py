"""Live cameras against real RTSP servers on 127.0.0.1 (GStreamer), in CI too."""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import av
import pytest
from PIL import Image

from live_process import (CONNECTED, Running, frame_times, http_get, parse_metrics, run, sample_values,
                          segment_frames, wait_healthy, write_config)
from live_servers import free_port
from media import combing, make_clip, make_interlaced_clip, probe
from vidclear import __version__

pytestmark = pytest.mark.live


def test_camera_x2_into_segments_keeps_95_percent(tmp_path, rtsp_servers):
    cam = rtsp_servers("camera", "--width", "320", "--height", "240", "--fps", "15")
    cfg = write_config(tmp_path / "c.yaml", "model: espcn-x2\nlive: {segment_seconds: 5, queue_size: 4}\n")
    summary = tmp_path / "s.json"
    r = run("enhance", cam.url, str(tmp_path / "cam_%H%M%S.ts"), "--config", str(cfg), "--duration", "20",
            "--summary-json", str(summary), timeout=90)
    assert r.returncode == 0, r.stderr
    s = json.loads(summary.read_text())
    segments = segment_frames(tmp_path, "cam_*.ts")
    assert len(segments) >= 3, "20 s in 5 s segments"
    written = sum(len(p) for _, p in segments)
    assert s["frames_in"] >= 0.9 * 15 * 20 * 0.9  # the camera really sent ~15 fps (minus start-up)
    assert written >= 0.95 * (s["frames_in"] - s["discarded_at_stop"]), (written, s)
    assert s["latency_ms"]["p95"] is not None and s["latency_ms"]["p95"] > 0
    assert "latency p50" in r.stdout and "p95" in r.stdout
    for seg, pts in segments:
        assert pts == sorted(pts) and len(set(pts)) == len(pts), seg
        with av.open(str(seg)) as c:
            assert (c.streams.video[0].width, c.streams.video[0].height) == (640, 480)


def test_server_killed_and_restarted_is_reconnected(tmp_path, rtsp_servers):
    cam = rtsp_servers("camera", "--fps", "15")
    cfg = write_config(tmp_path / "c.yaml",
                       "model: espcn-x2\nlive: {segment_seconds: 4, backoff_initial: 0.25, backoff_max: 0.5,"
                       " stall_timeout: 3}\n")
    summary = tmp_path / "s.json"
    proc = Running("enhance", cam.url, str(tmp_path / "cam_%H%M%S.ts"), "--config", str(cfg),
                   "--duration", "14", "--summary-json", str(summary))
    proc.wait_for(CONNECTED)
    time.sleep(4)
    cam.kill()
    time.sleep(2)
    restarted = rtsp_servers("camera", "--fps", "15", port=cam.port)
    assert restarted.port == cam.port
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    s = json.loads(summary.read_text())
    assert s["reconnects"] == 1, err
    segments = segment_frames(tmp_path, "cam_*.ts")
    times = [t for _, pts in segments for t in pts]
    assert times == sorted(times) and len(set(times)) == len(times), "pts monotonic across the reconnect"
    gaps = [b - a for a, b in zip(times, times[1:])]
    biggest = max(gaps)
    # kill -> restart is 2 s; the first frame after the restart must come within 3 s of it
    assert 1.5 < biggest < 2 + 3, gaps
    before = [seg for seg, pts in segments if pts and pts[-1] <= times[gaps.index(biggest)]]
    after = [seg for seg, pts in segments if pts and pts[0] > times[gaps.index(biggest)]]
    assert before and after, "segments on both sides of the outage play"


def test_stalled_camera_triggers_the_watchdog(tmp_path, rtsp_servers):
    cam = rtsp_servers("camera", "--fps", "15")
    cfg = write_config(tmp_path / "c.yaml",
                       "model: bicubic-x2\nlive: {stall_timeout: 2, open_timeout: 2, backoff_initial: 0.25,"
                       " backoff_max: 0.5}\n")
    summary = tmp_path / "s.json"
    proc = Running("enhance", cam.url, str(tmp_path / "out.ts"), "--config", str(cfg), "--duration", "90",
                   "--summary-json", str(summary))  # stopped by SIGINT below
    proc.wait_for(CONNECTED)
    time.sleep(3)
    cam.pause()  # the process is stopped: the TCP connection stays open, no frame arrives
    paused = time.monotonic()
    proc.wait_for("(stalled; stall_timeout 2 s)", timeout=30)
    # a frame backlog in the socket (a slow client) may delay the stall, never hide it; it cannot come
    # before stall_timeout has passed
    assert time.monotonic() - paused > 2 - 0.2
    time.sleep(1)  # a reconnect attempt against the stopped server times out (open_timeout 2 s)
    cam.resume()
    proc.wait_for("reconnected", timeout=30)
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err  # a Ctrl-C'd live run: finalised output, the signal's exit code
    s = json.loads(summary.read_text())
    assert s["reconnects"] >= 1, err
    with av.open(str(tmp_path / "out.ts")) as c:
        times = [float(f.pts * f.time_base) for f in c.decode(video=0)]
    gaps = [b - a for a, b in zip(times, times[1:])]
    outage = gaps.index(max(gaps))
    assert max(gaps) > 2, "no frame while the camera was stopped"
    assert outage >= 15 and len(times) - outage > 15, "frames from before the stall and after the recovery"


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_camera_faster_than_the_cpu_drops_and_keeps_latency_bounded(tmp_path, rtsp_servers):
    cam = rtsp_servers("camera", "--width", "640", "--height", "480", "--fps", "30")
    cfg = write_config(tmp_path / "c.yaml",
                       "model: espcn-x3\nlive: {queue_size: 2, max_latency_ms: 800}\nencoder: {preset: ultrafast}\n")
    summary = tmp_path / "s.json"
    proc = Running("enhance", cam.url, str(tmp_path / "out.ts"), "--config", str(cfg), "--duration", "16",
                   "--summary-json", str(summary))
    proc.wait_for(CONNECTED)
    time.sleep(4)
    rss_early = _rss_mb(proc.pid)
    time.sleep(8)
    rss_late = _rss_mb(proc.pid)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    s = json.loads(summary.read_text())
    assert s["dropped"] + s["stale"] > 0, "a 30 fps 480p camera at x4 is more than 2 CPU cores can enhance"
    for q in s["queues"]:
        assert q["high_water"] <= q["maxsize"], q
    assert s["latency_ms"]["p95"] < 800 + 1500  # the bound plus one inference and encode
    assert rss_late - rss_early < 60, (rss_early, rss_late)


def test_publishes_to_an_rtsp_server_and_a_reader_decodes_it(tmp_path, rtsp_servers):
    cam = rtsp_servers("camera", "--fps", "15")
    recorded = tmp_path / "recorded.mkv"
    target = rtsp_servers("record", "--out", str(recorded))
    publish = f"rtsp://127.0.0.1:{target.port}/cam"
    r = run("enhance", cam.url, publish, "--model", "bicubic-x2", "--duration", "6", timeout=60)
    assert r.returncode == 0, r.stderr
    assert target.wait_line("DONE", 10), "the record server finalises when the publisher leaves"
    time.sleep(0.5)
    with av.open(str(recorded)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) >= 30
    assert (frames[0].width, frames[0].height) == (640, 480)
    said = re.search(rf"output: {re.escape(publish)} \(640x480, (\d+) frames; (\d+) sent, (\d+) dropped\)", r.stdout)
    assert said, r.stdout
    enhanced, sent, dropped = map(int, said.groups())
    assert sent + dropped == enhanced and sent >= len(frames) - 2, (said.group(0), len(frames))


def test_publishing_a_file_to_a_server_that_is_not_there_fails(tmp_path):
    """Before, the run exited 0 with 'output: rtsp://... (640x480, 20 frames)' though nothing was sent."""
    clip = make_clip(tmp_path / "in.mp4", 64, 48, frames=12)
    publish = f"rtsp://viewer:s3cret@127.0.0.1:{free_port()}/cam"
    r = run("enhance", str(clip), publish, "--model", "bicubic-x2", timeout=60)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        f"vidclear: error: cannot publish to {publish.replace('s3cret', '***')}: send failed (Connection refused); "
        "none of the 12 enhanced frames reached it")
    assert "s3cret" not in r.stderr + r.stdout


def test_serve_three_cameras_one_dead(tmp_path, rtsp_servers):
    a = rtsp_servers("camera", "--fps", "15")
    b = rtsp_servers("camera", "--fps", "15")
    dead_port, metrics_port = free_port(), free_port()
    cfg = write_config(tmp_path / "cams.yaml", f"""
model: bicubic-x2
live: {{stall_timeout: 2, backoff_max: 1, segment_seconds: 4}}
metrics: {{port: {metrics_port}}}
cameras:
  - {{name: alpha, url: "{a.url}", outputs: ["{tmp_path}/alpha_%H%M%S.ts"]}}
  - {{name: beta, url: "{b.url}", outputs: ["{tmp_path}/beta_%H%M%S.mp4"]}}
  - {{name: gamma, url: "rtsp://127.0.0.1:{dead_port}/cam", outputs: ["{tmp_path}/gamma_%H%M%S.ts"]}}
""")
    proc = Running("serve", str(cfg), "--duration", "60")  # stopped by SIGTERM below
    wait_healthy(metrics_port, ["alpha", "beta"])
    time.sleep(5)  # > 50 frames each at 15 fps
    status, health = http_get(f"http://127.0.0.1:{metrics_port}/healthz")
    _, metrics = http_get(f"http://127.0.0.1:{metrics_port}/metrics")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    cams = json.loads(health)["cameras"]
    assert status == 503
    assert cams["alpha"]["healthy"] and cams["beta"]["healthy"] and not cams["gamma"]["healthy"]
    families = parse_metrics(metrics)
    assert set(sample_values(families, "vidclear_frames_in_total")) == {"alpha", "beta", "gamma"}
    # steady test cameras: their clocks never jump, so no frame is stamped from arrival again
    assert sample_values(families, "vidclear_clock_resyncs_total") == {"alpha": 0, "beta": 0, "gamma": 0}
    assert families["vidclear_latency_seconds"].type == "histogram"
    assert sample_values(families, "vidclear_latency_seconds_count")["alpha"] > 50
    for name in ("alpha", "beta"):
        segs = segment_frames(tmp_path, f"{name}_*")
        assert segs and sum(len(p) for _, p in segs) > 50, name
        for seg, pts in segs:
            assert pts, f"{seg} does not play"
    assert not list(tmp_path.glob("gamma_*"))


def recording_tags(paths) -> str:
    text = ""
    for path in paths:
        with av.open(str(path)) as c:
            text += repr(dict(c.metadata))
    return text


def test_credentials_never_reach_logs_errors_or_metrics(tmp_path, rtsp_servers):
    cam = rtsp_servers("camera", "--fps", "15")
    secret = "s3cr3t-Pa55"
    port = free_port()
    url = cam.url.replace("rtsp://", "rtsp://viewer:" + secret + "@")
    dead = f"rtsp://viewer:{secret}@127.0.0.1:{free_port()}/cam"
    log_file = tmp_path / "vidclear.log"
    cfg = write_config(tmp_path / "cams.yaml", f"""
model: bicubic-x2
live: {{stall_timeout: 2, backoff_max: 1, password_env: null}}
metrics: {{port: {port}}}
cameras:
  - {{name: front, url: "{url}", outputs: ["{tmp_path}/front_%H%M%S.mkv"]}}
  - {{name: back, url: "{dead}", outputs: ["{tmp_path}/back_%H%M%S.ts"]}}
  - {{name: side, url: "rtsp://viewer@127.0.0.1:{cam.port}/cam", password_env: SIDE_PW,
      outputs: ["{tmp_path}/side_%H%M%S.ts"]}}
""")
    proc = Running("serve", str(cfg), "--duration", "60", "--debug", "--log-file", str(log_file),
                   env={"SIDE_PW": secret})
    wait_healthy(port, ["front", "side"])
    time.sleep(2)  # the dead camera has retried a few times by now
    _, metrics = http_get(f"http://127.0.0.1:{port}/metrics")
    _, health = http_get(f"http://127.0.0.1:{port}/healthz")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    one = run("enhance", dead, str(tmp_path / "x.mp4"), "--debug", timeout=60)  # an error path
    assert one.returncode == 2
    summary = tmp_path / "s.json"
    two = run("enhance", url, str(tmp_path / "y.ts"), "--duration", "3", "--summary-json", str(summary), timeout=60)
    assert two.returncode == 0, (two.stderr, cam.state())
    texts = {"serve stderr": err, "serve stdout": out, "log file": log_file.read_text(), "metrics": metrics,
             "healthz": health, "enhance error": one.stderr + one.stdout, "enhance": two.stderr + two.stdout,
             "summary json": summary.read_text(), "recordings' tags": recording_tags(tmp_path.glob("front_*.mkv"))}
    assert "viewer:***@" in texts["log file"]  # the URL is logged, redacted
    assert f"from front at rtsp://viewer:***@127.0.0.1:{cam.port}/cam: model" in texts["recordings' tags"]
    for where, text in texts.items():
        assert secret not in text, f"the password leaked into the {where}"


def test_udp_transport(tmp_path, rtsp_servers):
    cam = rtsp_servers("camera", "--fps", "15")
    cfg = write_config(tmp_path / "c.yaml", "model: bicubic-x2\nlive: {transport: udp}\n")
    summary = tmp_path / "s.json"
    r = run("enhance", cam.url, str(tmp_path / "out.mkv"), "--config", str(cfg), "--duration", "4",
            "--summary-json", str(summary), timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(summary.read_text())["frames_in"] >= 30


def test_a_server_that_answers_with_garbage_is_one_clear_error(tmp_path):
    """A TCP server on the camera's port that accepts and sends random bytes instead of RTSP."""
    import os
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    stop = threading.Event()

    def answer():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.settimeout(2)
                    conn.recv(4096)
                    conn.sendall(os.urandom(4096))
                    conn.recv(4096)
                except OSError:
                    pass

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        start = time.monotonic()
        r = run("enhance", f"rtsp://user:s3cret@127.0.0.1:{port}/cam", str(tmp_path / "out.ts"), "--duration", "5",
                timeout=60)
        took = time.monotonic() - start
    finally:
        stop.set()
        thread.join(5)
        server.close()
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("vidclear: error: cannot open live source rtsp://user:***@127.0.0.1:"), r.stderr
    assert "Traceback" not in r.stderr and "s3cret" not in r.stderr
    assert took < 30 and not (tmp_path / "out.ts").exists()


@pytest.mark.slow
def test_ten_restarts_of_the_camera_server_each_recovered_within_2_s(tmp_path, rtsp_servers):
    cam = rtsp_servers("camera", "--fps", "15")
    cfg = write_config(tmp_path / "c.yaml", "model: bicubic-x2\nlive: {backoff_initial: 0.1, backoff_max: 0.3, "
                       "stall_timeout: 2}\n")
    summary = tmp_path / "s.json"
    proc = Running("enhance", cam.url, str(tmp_path / "cam_%H%M%S.ts"), "--config", str(cfg), "--duration", "120",
                   "--summary-json", str(summary))
    proc.wait_for(CONNECTED)
    time.sleep(1)
    returned = []
    for i in range(1, 11):
        cam.kill()
        time.sleep(0.5)
        cam = rtsp_servers("camera", "--fps", "15", port=cam.port)  # returns once the server says READY
        returned.append(time.monotonic())
        proc.wait_for(f"reconnected (reconnect {i})", timeout=30)
        time.sleep(1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    s = json.loads(summary.read_text())
    assert s["reconnects"] == 10
    first_frames = s["first_frame_after_reconnect_monotonic"]  # the same clock as time.monotonic() here
    assert len(first_frames) == 10
    totals = [frame - back for back, frame in zip(returned, first_frames)]
    print("server back -> first frame, s:", [round(t, 2) for t in totals])
    assert 0 < min(totals) and max(totals) < 2.0, totals


def test_a_snapshot_from_a_camera_is_one_picture(tmp_path, rtsp_servers):
    cam = rtsp_servers("camera", "--fps", "10")
    snap = tmp_path / "snap.png"
    r = run("enhance", cam.url, str(snap), "--model", "bicubic-x2", timeout=60)
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1] == (
        f"vidclear: error: {snap} is a picture: from a camera give --max-frames 1 for a snapshot, or name a video "
        "(.mp4 .mkv .mov .ts) for all of them"), r.stderr
    before = time.time()
    r = run("enhance", cam.url, str(snap), "--model", "bicubic-x2", "--max-frames", "1", timeout=60)
    assert r.returncode == 0, r.stderr
    with av.open(str(snap)) as c:
        frame = next(c.decode(video=0))
    assert (frame.width, frame.height) == (640, 480) and "output: " + str(snap) + " (640x480, 1 frame)" in r.stdout
    with Image.open(snap) as picture:  # when and from which camera, in the picture itself
        text = dict(picture.text)
    assert before <= utc_seconds(text["Creation Time"]) <= time.time(), text
    assert text["Comment"].startswith(f"enhanced by vidclear {__version__} from {cam.url}: model bicubic-x2"), text


def test_an_interlaced_camera_is_deinterlaced_live(tmp_path, rtsp_servers):
    # an analogue camera behind an encoder: the H.264 it sends is coded interlaced
    clip = make_interlaced_clip(tmp_path / "analogue.mp4", frames=150, width=320, height=240)
    cam = rtsp_servers("camera", "--file", str(clip))
    out, summary = tmp_path / "cam.mkv", tmp_path / "s.json"
    r = run("enhance", cam.url, str(out), "--model", "bicubic-x2", "--duration", "3", "--summary-json", str(summary),
            timeout=60)
    assert r.returncode == 0, r.stderr
    s = json.loads(summary.read_text())
    p = probe(out, keep_planes=True)
    assert p.frames >= 30 and s["deinterlaced"] >= p.frames, (p.frames, s["deinterlaced"])
    assert p.pts_s == sorted(p.pts_s) and len(set(p.pts_s)) == p.frames
    assert max(combing(y) for y, _, _ in p.planes) < 1.0  # the source combs at about 8 (2 once enlarged)
    # a frame per field: twice the frames, stamped half a frame (20 ms at 25 fps) apart
    fields, summary = tmp_path / "fields.mkv", tmp_path / "f.json"
    r = run("enhance", cam.url, str(fields), "--model", "bicubic-x2", "--deinterlace", "fields", "--duration", "3",
            "--summary-json", str(summary), timeout=60)
    assert r.returncode == 0, r.stderr
    s = json.loads(summary.read_text())
    p = probe(fields)
    assert s["deinterlaced"] >= 1.9 * s["frames_in"] and p.frames >= 60, (s["deinterlaced"], s["frames_in"], p.frames)
    steps = sorted(b - a for a, b in zip(p.pts_s, p.pts_s[1:]))
    assert steps[0] > 0 and abs(steps[len(steps) // 2] - 0.020) < 0.002, steps


def utc_seconds(creation_time: str) -> float:
    return datetime.strptime(creation_time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def test_each_recording_of_a_camera_says_when_it_began(tmp_path, rtsp_servers):
    """A camera's file and each of its segments carry their own start (UTC creation_time): the wall time of
    their first frame, the one their name was made from."""
    cam = rtsp_servers("camera", "--fps", "10")
    cfg = write_config(tmp_path / "c.yaml", "model: bicubic-x2\nlive: {segment_seconds: 1}\n")
    began = time.time()
    for target in ("cam_%H%M%S.mkv", "whole.mp4"):
        r = run("enhance", cam.url, str(tmp_path / target), "--config", str(cfg), "--duration", "3.5", timeout=60)
        assert r.returncode == 0, r.stderr
    ended = time.time()
    segments = sorted(tmp_path.glob("cam_*.mkv"))
    assert len(segments) >= 3, segments
    starts = []
    for segment in segments:
        with av.open(str(segment)) as c:
            start = utc_seconds(c.metadata["creation_time"])
        named = time.mktime(time.strptime(time.strftime("%Y%m%d", time.localtime(start)) + segment.stem[4:10],
                                          "%Y%m%d%H%M%S"))  # the name's local time, to the second
        assert named <= start < named + 1, (segment, c.metadata)
        starts.append(start)
    assert began < starts[0] and all(b - a >= 0.9 for a, b in zip(starts, starts[1:])) and starts[-1] < ended
    with av.open(str(tmp_path / "whole.mp4")) as c:
        assert starts[-1] < utc_seconds(c.metadata["creation_time"]) < ended
        assert c.metadata["comment"].startswith(f"enhanced by vidclear {__version__} from {cam.url}: model bicubic-x2")


def frames_so_far(path: Path) -> int:
    """Frames that decode from a file being written (0 until it has a playable start)."""
    try:
        return len(frame_times(path))
    except (OSError, av.error.FFmpegError):
        return 0


def test_a_cameras_file_plays_up_to_a_crash_and_the_next_run_keeps_it(tmp_path, rtsp_servers):
    """A camera recorded into one .mp4, and the process was killed (a power cut, the OOM killer): what it wrote plays,
    and the next run into the same file keeps it beside instead of starting over it."""
    cam = rtsp_servers("camera", "--fps", "10")
    out = tmp_path / "door.mp4"
    proc = Running("enhance", cam.url, str(out), "--model", "bicubic-x2", "--duration", "60")
    proc.wait_for(CONNECTED)
    partial = tmp_path / ".door.vidclear-partial.mp4"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and frames_so_far(partial) < 15:
        time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    crashed = frame_times(partial)  # no index at the end: it plays fragment by fragment
    assert len(crashed) >= 15 and crashed == sorted(crashed), crashed
    r = run("enhance", cam.url, str(out), "--model", "bicubic-x2", "--max-frames", "5", timeout=60)
    assert r.returncode == 0, r.stderr
    [kept] = tmp_path.glob("door.cut-*.mp4")
    assert f"an earlier recording of {out} was cut short (its run died): kept as {kept}" in r.stderr, r.stderr
    assert frame_times(kept) == crashed and probe(out).frames == 5 and not partial.exists()


def test_a_region_of_a_camera(tmp_path, rtsp_servers):
    cam = rtsp_servers("camera", "--fps", "10")  # 320x240
    r = run("enhance", cam.url, str(tmp_path / "door_%H%M%S.mkv"), "--model", "bicubic-x2", "--crop", "100,60,64,48",
            "--max-frames", "5", timeout=60)
    assert r.returncode == 0, r.stderr
    [segment] = tmp_path.glob("door_*.mkv")
    p = probe(segment)
    assert (p.width, p.height, p.frames) == (128, 96, 5)
    with av.open(str(segment)) as c:  # what was done, kept in the recording
        assert c.metadata["COMMENT"] == (f"enhanced by vidclear {__version__} from {cam.url}: model bicubic-x2 (x2); "
                                         "region 100,60,64,48 (x, y, width, height); deinterlace auto")
    cfg = write_config(tmp_path / "cams.yaml", f"model: bicubic-x2\ncameras:\n  - {{name: door, url: '{cam.url}', "
                       f"outputs: ['{tmp_path}/d.ts'], crop: [100, 60, 64, 48]}}\n")
    r = run("serve", str(cfg), "--check", timeout=60)
    assert r.returncode == 0, r.stderr
    assert re.search(r"door\s+bicubic-x2\s+320x240 h264 10 fps\s+128x96 of region 100,60,64,48\s", r.stdout), r.stdout
    cfg.write_text(cfg.read_text().replace("[100, 60, 64, 48]", "[300, 60, 64, 48]"))
    r = run("serve", str(cfg), "--check", timeout=60)
    assert r.returncode == 1 and r.stdout.strip().splitlines()[-1].endswith(
        "camera door: crop 300,60,64,48 (x, y, width, height) reaches past the 320x240 frame of live source door at "
        f"{cam.url}: it must end by x 320 and y 240"), r.stdout
