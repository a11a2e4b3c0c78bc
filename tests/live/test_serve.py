"""`vidclear serve` on the one engine, against real RTSP servers on 127.0.0.1: no camera stalls
another, health means output, the night chain and per-camera models, exit codes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import av
import pytest

from live_process import Running, frame_times, http_get, parse_metrics, sample_values, segment_frames, wait_healthy, write_config
from live_servers import StallingProxy, free_port

pytestmark = pytest.mark.live


def health(port: int) -> tuple[int, dict]:
    status, body = http_get(f"http://127.0.0.1:{port}/healthz")
    return status, json.loads(body)


def written(port: int, camera: str) -> float:
    """Frames written to the camera's outputs so far, as /metrics says."""
    _, text = http_get(f"http://127.0.0.1:{port}/metrics")
    return sum(s.value for f in parse_metrics(text).values() for s in f.samples
               if s.name == "vidclear_output_frames_total" and s.labels["camera"] == camera)


def test_a_dead_camera_of_another_size_stalls_no_other(tmp_path, rtsp_servers):
    big = rtsp_servers("camera", "--width", "320", "--height", "240", "--fps", "15")
    small = rtsp_servers("camera", "--width", "160", "--height", "120", "--fps", "15")
    port = free_port()
    cfg = write_config(tmp_path / "cams.yaml", f"""
model: espcn-x2
batch: {{max_frames: 4, max_wait_ms: 10}}
live: {{stall_timeout: 2, backoff_initial: 0.25, backoff_max: 0.5, segment_seconds: 2}}
metrics: {{port: {port}}}
cameras:
  - {{name: big, url: "{big.url}", outputs: ["{tmp_path}/big_%H%M%S.ts"]}}
  - {{name: small, url: "{small.url}", outputs: ["{tmp_path}/small_%H%M%S.ts"]}}
""")
    proc = Running("serve", str(cfg), "--duration", "120")  # stopped by SIGTERM below
    wait_healthy(port, ["big", "small"])
    time.sleep(5)
    small.kill()
    before = written(port, "big")
    time.sleep(10)
    gained = written(port, "big") - before
    status, report = health(port)
    small_before = written(port, "small")
    rtsp_servers("camera", "--width", "160", "--height", "120", "--fps", "15", port=small.port)
    wait_healthy(port, ["big", "small"], timeout=30)
    time.sleep(2)
    small_after = written(port, "small")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    dead = report["cameras"]["small"]
    print(f"live camera: {gained:.0f} frames written in the 10 s after the other died; /healthz {status}: "
          f"{dead['state']} ({dead['reason']}); the returned camera wrote {small_after - small_before:.0f} frames")
    assert gained >= 120, f"the live camera wrote {gained} frames in the 10 s after the other died"
    assert status == 503
    assert report["cameras"]["big"]["healthy"] and report["cameras"]["big"]["state"] == "ok"
    assert not dead["healthy"] and dead["state"] == "reconnecting" and "no input" in dead["reason"], dead
    assert small_after - small_before >= 15, "the returned camera records again"
    assert "serving 2 cameras (big, small); metrics on" in err
    lost = [line for line in err.splitlines() if f"live source small at rtsp://127.0.0.1:{small.port}/" in line]
    assert any("reconnecting" in line for line in lost), f"the log names the camera that was lost: {err}"
    small_times = [t for _, pts in segment_frames(tmp_path, "small_*") for t in pts]
    gaps = [b - a for a, b in zip(small_times, small_times[1:])]
    assert max(gaps) >= 8, "the outage shows in the small camera's recording"
    assert len(small_times) - gaps.index(max(gaps)) > 15, "frames recorded after the server returned"


def test_a_camera_whose_output_is_gone_turns_unhealthy(tmp_path, rtsp_servers):
    cam = rtsp_servers("camera", "--fps", "15")
    target = rtsp_servers("record", "--out", str(tmp_path / "recorded.mkv"))
    port = free_port()
    stall = 2
    cfg = write_config(tmp_path / "cams.yaml", f"""
model: bicubic-x2
live: {{stall_timeout: {stall}}}
metrics: {{port: {port}}}
cameras:
  - {{name: pub, url: "{cam.url}", outputs: ["rtsp://127.0.0.1:{target.port}/cam"]}}
""")
    proc = Running("serve", str(cfg), "--duration", "90")
    wait_healthy(port, ["pub"])
    time.sleep(1)
    target.kill()
    stopped = time.monotonic()
    state = None
    while time.monotonic() - stopped < stall + 10:
        _, report = health(port)
        state = report["cameras"]["pub"]
        if not state["healthy"]:
            break
        time.sleep(0.1)
    took = time.monotonic() - stopped
    frames_in = state["frames_in"]
    time.sleep(1)
    _, later = health(port)
    _, text = http_get(f"http://127.0.0.1:{port}/metrics")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    print(f"unhealthy {took:.2f} s after the RTSP target stopped (stall_timeout {stall} s): {state['reason']}")
    assert not state["healthy"], state
    assert took <= stall + 2, f"unhealthy only after {took:.1f} s"
    assert state["state"] == "no_output" and f"rtsp://127.0.0.1:{target.port}/cam" in state["reason"], state
    assert later["cameras"]["pub"]["frames_in"] > frames_in, "the camera itself kept sending"
    dropped = sample_values(parse_metrics(text), "vidclear_output_dropped_frames_total")
    assert dropped["pub"] > 0


def test_night_chain_and_a_camera_with_its_own_model(tmp_path, rtsp_servers):
    """lowlight.mode: on before espcn-x2, a second camera on espcn-x3: both record; the low-light
    model is loaded once although its camera reconnects three times."""
    night = rtsp_servers("camera", "--width", "160", "--height", "120", "--fps", "10")
    wide = rtsp_servers("camera", "--width", "160", "--height", "120", "--fps", "10")
    port = free_port()
    cfg = write_config(tmp_path / "cams.yaml", f"""
model: espcn-x2
lowlight: {{mode: on}}
live: {{stall_timeout: 2, backoff_initial: 0.25, backoff_max: 0.5, segment_seconds: 2}}
metrics: {{port: {port}}}
cameras:
  - {{name: night, url: "{night.url}", outputs: ["{tmp_path}/night_%H%M%S.ts"]}}
  - {{name: wide, url: "{wide.url}", model: espcn-x3, outputs: ["{tmp_path}/wide_%H%M%S.mp4"]}}
""")
    proc = Running("serve", str(cfg), "--duration", "120")
    wait_healthy(port, ["night", "wide"])
    for i in range(1, 4):
        night.kill()
        time.sleep(1)
        night = rtsp_servers("camera", "--width", "160", "--height", "120", "--fps", "10", port=night.port)
        proc.wait_for(f"reconnected (reconnect {i})", timeout=30)
    wait_healthy(port, ["night", "wide"], timeout=30)
    time.sleep(4)
    _, report = health(port)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    loads = {m: err.count(f"loaded model '{m}'") for m in ("lowlight", "espcn-x2", "espcn-x3")}
    print(f"reconnects {report['cameras']['night']['reconnects']}, 'loaded model' lines: {loads}")
    assert report["cameras"]["night"]["reconnects"] == 3
    assert report["cameras"]["night"]["model"] == "espcn-x2" and report["cameras"]["wide"]["model"] == "espcn-x3"
    assert err.count("loaded model 'lowlight'") == 1, err
    assert err.count("loaded model 'espcn-x2'") == 1 and err.count("loaded model 'espcn-x3'") == 1
    for name, size, least in (("night", (320, 240), 30), ("wide", (480, 360), 60)):
        segments = segment_frames(tmp_path, f"{name}_*")
        assert sum(len(p) for _, p in segments) >= least, (name, report)
        with av.open(str(segments[0][0])) as c:
            assert (c.streams.video[0].width, c.streams.video[0].height) == size


def test_sigint_stops_cleanly_and_a_failed_output_exits_1(tmp_path, rtsp_servers):
    cam = rtsp_servers("camera", "--fps", "15")
    port = free_port()
    rec = tmp_path / "rec"
    rec.mkdir()
    cfg = write_config(tmp_path / "cams.yaml", f"""
model: bicubic-x2
live: {{segment_seconds: 1, backoff_max: 0.5}}
metrics: {{port: {port}}}
cameras:
  - {{name: gate, url: "{cam.url}", outputs: ["{rec}/gate_%H%M%S.ts"]}}
""")
    proc = Running("serve", str(cfg), "--duration", "60")
    wait_healthy(port, ["gate"])
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err  # a clean stop, as service managers expect
    segments = segment_frames(rec, "gate_*")
    assert len(segments) >= 2 and all(pts for _, pts in segments), "every segment finalised and playable"

    proc = Running("serve", str(cfg), "--duration", "60")
    wait_healthy(port, ["gate"])
    shutil.rmtree(rec)  # the recording folder goes away under a running camera
    proc.wait_for("camera gate:", timeout=20)
    _, report = health(port)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, err
    assert "camera gate: its output failed" in err
    assert not report["cameras"]["gate"]["healthy"]


def test_a_camera_that_rejects_the_password_backs_off_and_says_why(tmp_path, rtsp_servers):
    """401 from the camera: the error names authentication, the retries follow the backoff (no hot
    loop), the password appears nowhere, and the other camera records meanwhile."""
    secret = "wr0ng-Pa55"
    locked = rtsp_servers("camera", "--fps", "15", "--user", "viewer", "--password", "right")
    other = rtsp_servers("camera", "--fps", "15")
    port = free_port()
    cfg = write_config(tmp_path / "cams.yaml", f"""
model: bicubic-x2
live: {{backoff_initial: 0.5, backoff_max: 2, stall_timeout: 2}}
metrics: {{port: {port}}}
cameras:
  - {{name: locked, url: "rtsp://viewer:{secret}@127.0.0.1:{locked.port}/cam", outputs: ["{tmp_path}/l_%H%M%S.ts"]}}
  - {{name: other, url: "{other.url}", outputs: ["{tmp_path}/o_%H%M%S.ts"]}}
""")
    proc = Running("serve", str(cfg), "--duration", "60")
    wait_healthy(port, ["other"])
    start = time.monotonic()
    time.sleep(8)
    _, report = health(port)
    _, metrics = http_get(f"http://127.0.0.1:{port}/metrics")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    attempts = [line for line in err.splitlines() if "rejected the credentials (authentication failed" in line]
    assert attempts, err
    # backoff 0.5, 1, 2, 2, ... s (+-20%): about 6 attempts in the 8 s watched, never dozens
    assert 2 <= len(attempts) <= 12, len(attempts)
    locked_state = report["cameras"]["locked"]
    assert not locked_state["healthy"] and "authentication failed" in locked_state["reason"], locked_state
    assert report["cameras"]["other"]["healthy"]
    for where, text in {"stderr": err, "healthz": json.dumps(report), "metrics": metrics}.items():
        assert secret not in text, f"the password leaked into {where}"
    assert time.monotonic() - start < 30


def test_a_camera_that_changes_resolution_starts_new_segments_at_the_new_size(tmp_path, rtsp_servers):
    cam = rtsp_servers("camera", "--width", "320", "--height", "240", "--fps", "15")
    port = free_port()
    cfg = write_config(tmp_path / "cams.yaml", f"""
model: bicubic-x2
live: {{backoff_initial: 0.2, backoff_max: 0.5, stall_timeout: 2, segment_seconds: 30}}
metrics: {{port: {port}}}
cameras:
  - {{name: gate, url: "{cam.url}", outputs: ["{tmp_path}/gate_%H%M%S.ts"]}}
""")
    proc = Running("serve", str(cfg), "--duration", "60")
    wait_healthy(port, ["gate"])
    time.sleep(2)
    cam.kill()
    rtsp_servers("camera", "--width", "160", "--height", "120", "--fps", "15", port=cam.port)  # reconfigured
    proc.wait_for("starting again at the new size", timeout=30)
    wait_healthy(port, ["gate"], timeout=30)
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "changed size to 160x120 (was 320x240)" in err and "Traceback" not in err
    sizes = []
    for seg, pts in segment_frames(tmp_path, "gate_*"):
        assert pts, f"{seg} does not play"
        with av.open(str(seg)) as c:
            sizes.append((c.streams.video[0].width, c.streams.video[0].height))
    assert sizes[0] == (640, 480) and sizes[-1] == (320, 240), sizes


def fill(folder, name: str = "filler") -> int:
    """Write into ``folder`` until the filesystem is full; the bytes written."""
    written = 0
    with open(folder / name, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
                written += 65536
        except OSError:
            pass
    return written


def test_a_full_disk_under_segmented_recording_keeps_closed_segments_and_recovers(tmp_path, rtsp_servers):
    """A 4 MB tmpfs (mounted here: make test runs as root) filled mid-recording: health says the disk is
    full, the segments closed before are kept and play, the camera records again once space returns."""
    assert os.geteuid() == 0, "this test mounts a tmpfs: run it as root (make test does)"
    cam = rtsp_servers("camera", "--width", "160", "--height", "120", "--fps", "10")
    rec = tmp_path / "rec"
    rec.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(rec)], check=True)
    try:
        port = free_port()
        cfg = write_config(tmp_path / "cams.yaml", f"""
model: bicubic-x2
live: {{segment_seconds: 1, backoff_initial: 0.2, backoff_max: 0.5, stall_timeout: 2}}
metrics: {{port: {port}}}
cameras:
  - {{name: gate, url: "{cam.url}", outputs: ["{rec}/gate_%H%M%S.ts"]}}
""")
        proc = Running("serve", str(cfg), "--duration", "90")
        wait_healthy(port, ["gate"])
        time.sleep(3)
        fill(rec)
        full_at = time.monotonic()
        report = {}
        while time.monotonic() - full_at < 15:
            _, report = health(port)
            if "no space left on the device" in (report["cameras"]["gate"]["reason"] or ""):
                break
            time.sleep(0.2)
        gate_full = report["cameras"]["gate"]
        closed = sorted(rec.glob("gate_*"))[:-1]  # the newest may be open (or cut short) now
        kept = {seg.name: frame_times(seg) for seg in closed}
        time.sleep(2)
        _, still = health(port)
        (rec / "filler").unlink()
        freed_at = time.monotonic()
        wait_healthy(port, ["gate"], timeout=30)
        back_after = time.monotonic() - freed_at
        time.sleep(2.5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        after = segment_frames(rec, "gate_*")
    finally:
        subprocess.run(["umount", "-l", str(rec)], check=True)
    print(f"while full: {gate_full['state']}: {gate_full['reason']}; healthy again {back_after:.1f} s after space "
          f"returned; {len(kept)} segments kept, {len(after)} at the end")
    assert not gate_full["healthy"] and gate_full["state"] == "error", gate_full
    assert f"cannot write {rec}/gate_" in gate_full["reason"] and "no space left on the device" in gate_full["reason"]
    assert not still["cameras"]["gate"]["healthy"], "still unhealthy while the disk stays full"
    assert len(kept) >= 2 and all(kept.values()), "the segments closed before the disk filled play"
    for seg, pts in after:
        if seg.name in kept and len(kept[seg.name]) > 1:
            assert len(pts) == len(kept[seg.name]), f"{seg.name} was kept as it was"
    new = [(seg, pts) for seg, pts in after if seg.name not in kept]
    assert new and sum(len(p) for _, p in new) >= 15, "new segments once space returned"
    assert "Traceback" not in err
    assert proc.returncode == 1 and "camera gate: its output failed" in err, err


def test_a_publish_target_that_hangs_or_goes_away_stalls_no_other_output(tmp_path, rtsp_servers):
    """The RTSP server a camera publishes to stops taking data (a hung process behind a relay with small
    buffers), then dies and comes back: the camera's segments keep its frame rate throughout, health
    names the publish output while it takes nothing, and publishing resumes to the returned server."""
    cam = rtsp_servers("camera", "--width", "160", "--height", "120", "--fps", "10", "--pattern", "snow")
    target = rtsp_servers("record", "--out", str(tmp_path / "first.mkv"))
    relay = StallingProxy(target.port)
    port = free_port()
    publish = f"rtsp://127.0.0.1:{relay.port}/cam"
    cfg = write_config(tmp_path / "cams.yaml", f"""
model: bicubic-x2
encoder: {{crf: 0, preset: ultrafast}}  # lossless noise: megabytes a second, so a stalled link fills at once
live: {{segment_seconds: 2, backoff_initial: 0.2, backoff_max: 0.5, stall_timeout: 2}}
metrics: {{port: {port}}}
cameras:
  - {{name: gate, url: "{cam.url}", outputs: ["{tmp_path}/gate_%H%M%S.ts", "{publish}"]}}
""")
    try:
        proc = Running("serve", str(cfg), "--duration", "90")
        wait_healthy(port, ["gate"])
        time.sleep(2)

        def outputs() -> dict:
            _, report = health(port)
            return {o["output"]: o["frames_written"] for o in report["cameras"]["gate"]["outputs"]}

        segments = next(o for o in outputs() if o.endswith(".ts"))
        relay.stall()
        before = outputs()
        time.sleep(8)
        during = outputs()
        _, hung = health(port)
        relay.close()  # the target goes away...
        target.kill()
        time.sleep(2)
        back = rtsp_servers("record", "--out", str(tmp_path / "second.mkv"))
        relay = StallingProxy(back.port, port=relay.port)  # ...and comes back at the same address
        wait_healthy(port, ["gate"], timeout=30)
        time.sleep(4)
        after = outputs()
        _, text = http_get(f"http://127.0.0.1:{port}/metrics")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        relay.close()
    seg_rate = (during[segments] - before[segments]) / 8
    gate = hung["cameras"]["gate"]
    print(f"segments written at {seg_rate:.1f} fps while the publish target took nothing; health then: "
          f"{gate['state']} ({gate['reason']}); published after it returned: {after[publish] - during[publish]} "
          "frames")
    assert seg_rate >= 8, "the segments kept the camera's 10 fps while the publish target hung"
    assert not gate["healthy"] and gate["state"] == "no_output" and publish in gate["reason"], gate
    assert segments not in gate["reason"], "the segments were never stalled"
    assert after[publish] - during[publish] >= 20, "publishing resumed to the returned server"
    families = parse_metrics(text)
    assert sample_values(families, "vidclear_output_reconnects_total")["gate"] >= 1
    assert sample_values(families, "vidclear_output_dropped_frames_total")["gate"] > 0
    back.kill()
    assert frame_times(tmp_path / "second.mkv"), "the returned server recorded what was published"
    assert proc.returncode == 0 and "Traceback" not in err, err


def test_check_tries_every_camera_once_and_says_what_each_sends(tmp_path, rtsp_servers):
    """Before installing a config: `serve --check` reaches each camera and each server it publishes to once, and
    writes nothing; a camera that does not answer, or a publish server that is not there, is a row and exit 1,
    not a config error."""
    live = rtsp_servers("camera", "--width", "320", "--height", "240", "--fps", "15")
    dead, no_server = free_port(), free_port()
    body = f"""
model: espcn-x2
metrics: {{port: 0}}
cameras:
  - {{name: door, url: "{live.url}", outputs: ["{tmp_path}/door_%H%M%S.ts", "rtsp://127.0.0.1:{no_server}/door"]}}
  - {{name: yard, url: "rtsp://viewer:s3cret@127.0.0.1:{dead}/cam", model: bicubic-x2,
      outputs: ["{tmp_path}/yard.mkv"]}}
"""
    cfg = write_config(tmp_path / "cams.yaml", body)
    r = subprocess.run([sys.executable, "-m", "vidclear", "serve", str(cfg), "--check"], capture_output=True, text=True,
                       timeout=120)
    rows = {line.split()[0]: line for line in r.stdout.splitlines()}
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert rows["door"].split()[:6] == ["door", "espcn-x2", "320x240", "h264", "15", "fps"], r.stdout
    assert "640x480" in rows["door"] and rows["door"].endswith("yes")
    assert f"rtsp://127.0.0.1:{no_server}/door (no server: Connection refused)" in rows["door"], r.stdout
    assert rows["yard"].split()[1:3] == ["bicubic-x2", f"rtsp://viewer:***@127.0.0.1:{dead}/cam"], r.stdout
    assert rows["yard"].endswith("no: Connection refused")
    assert r.stdout.strip().endswith(f"config {cfg}: valid; nothing listens at door's output "
                                     f"rtsp://127.0.0.1:{no_server}/door; yard did not answer"), r.stdout
    assert "s3cret" not in r.stdout + r.stderr and sorted(p.name for p in tmp_path.iterdir()) == ["cams.yaml"]
    assert "Traceback" not in r.stderr
    cfg.write_text(body.replace(f"127.0.0.1:{dead}/cam", f"127.0.0.1:{live.port}/cam")
                   .replace(f', "rtsp://127.0.0.1:{no_server}/door"', ""))
    r = subprocess.run([sys.executable, "-m", "vidclear", "serve", str(cfg), "--check"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.strip().endswith("valid, and all 2 cameras answered"), (r.stdout, r.stderr)


def test_sighup_reloads_the_cameras_that_changed_and_leaves_the_others_recording(tmp_path, rtsp_servers):
    """Adding a camera to a box of fifty meant stopping all fifty. A reload starts and stops only the cameras that
    changed; a config serve would not start with, or a change to the service's own settings, is refused in one
    line while every camera runs on."""
    door = rtsp_servers("camera", "--fps", "15")
    yard = rtsp_servers("camera", "--fps", "15")
    port = free_port()
    head = f"model: bicubic-x2\nlive: {{stall_timeout: 2, segment_seconds: 2}}\nmetrics: {{port: {port}}}\ncameras:\n"
    cam = {name: f'  - {{name: {name}, url: "{server.url}", outputs: ["{tmp_path}/{name}_%H%M%S.ts"]}}\n'
           for name, server in (("door", door), ("yard", yard))}
    cfg = write_config(tmp_path / "cams.yaml", head + cam["door"])
    proc = Running("serve", str(cfg), "--duration", "120")  # stopped by SIGTERM below
    wait_healthy(port, ["door"])

    cfg.write_text(head + cam["door"] + cam["yard"])
    before = written(port, "door")
    proc.send_signal(signal.SIGHUP)
    proc.wait_for("reload: started yard; stopped none; unchanged door")
    wait_healthy(port, ["door", "yard"])
    assert written(port, "door") > before, "door was not restarted: its count goes on"

    # the top-level model changes: door runs with it and starts again; yard names its own and records on
    head = head.replace("bicubic-x2", "bicubic-x3")
    cam["yard"] = cam["yard"].replace("outputs", "model: bicubic-x2, outputs")
    cfg.write_text(head + cam["door"] + cam["yard"])
    before = written(port, "yard")
    proc.send_signal(signal.SIGHUP)
    proc.wait_for("reload: started door; stopped none; unchanged yard")
    wait_healthy(port, ["door", "yard"])
    assert written(port, "yard") > before, "yard was not restarted: its count goes on"
    assert health(port)[1]["cameras"]["door"]["model"] == "bicubic-x3"

    cfg.write_text(head.replace("cameras:", "batch: {max_frames: 2}\ncameras:") + cam["door"] + cam["yard"])
    proc.send_signal(signal.SIGHUP)  # the inference service's own setting: a restart
    proc.wait_for("reload: batch changed, which takes a restart (the inference service and the endpoints stay as "
                  "they started; a reload changes the cameras); the cameras run on as before")
    cfg.write_text(head + cam["door"] + cam["yard"].replace("outputs", "fps: 5, outputs"))
    proc.send_signal(signal.SIGHUP)
    proc.wait_for("unknown key 'cameras.1.fps'")
    assert health(port)[1]["cameras"].keys() == {"door", "yard"}

    cfg.write_text(head + cam["yard"])
    proc.send_signal(signal.SIGHUP)
    proc.wait_for("reload: started none; stopped door; unchanged yard")
    status, report = health(port)
    door_frames = written(port, "door")
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert status == 200 and report["cameras"].keys() == {"yard"}, report
    assert door_frames == 0, "the stopped camera's series left /metrics"
    assert "camera door: 0 frames in" not in err and "camera door: " in err, "the stopped camera's counts are logged"
    assert "Traceback" not in err
    for name in ("door", "yard"):
        frames = [pts for _, pts in segment_frames(tmp_path, f"{name}_*")]
        assert frames and all(frames), f"every segment of {name} is finalised and plays"
