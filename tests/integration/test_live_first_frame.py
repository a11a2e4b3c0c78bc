"""A live source over TCP on 127.0.0.1 (an MPEG-TS camera): it keeps what it read while probing, so a
camera's first keyframe is the first frame enhanced (not dropped with the probe, which left the stream
waiting a whole GOP for the next), and frames that queued before they were read keep their spacing."""

import socket
import threading

from live_process import frame_times, run
from media import make_clip, pattern_frame
from vidclear.evaluation.metrics import psnr
from vidclear.io.live import LiveSource

FRAMES = 30


def serve_once(data: bytes) -> tuple[int, threading.Thread]:
    """A camera on 127.0.0.1 that sends one MPEG-TS stream to the first client and hangs up."""
    server = socket.create_server(("127.0.0.1", 0))

    def send() -> None:
        with server:
            conn, _ = server.accept()
            with conn:
                conn.sendall(data)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return server.getsockname()[1], thread


def test_the_first_frame_read_is_the_streams_first_keyframe(tmp_path):
    # libx264's default GOP is longer than the clip: frame 0 is the stream's only keyframe
    clip = make_clip(tmp_path / "cam.ts", width=96, height=64, frames=FRAMES)
    port, thread = serve_once(clip.read_bytes())
    source = LiveSource(f"tcp://127.0.0.1:{port}", open_timeout=5, stall_timeout=5, max_retries=0)
    frames = [frame.to_ndarray(format="rgb24") for frame, _ in source.frames()]
    thread.join(5)
    assert len(frames) == FRAMES, f"{len(frames)} of the {FRAMES} frames the camera sent were read"
    first = pattern_frame(0, 96, 64)
    assert psnr(frames[0], first) > 30 > psnr(frames[0], pattern_frame(8, 96, 64))


def test_frames_queued_before_they_were_read_keep_the_cameras_spacing(tmp_path):
    """The camera's 30 frames (1 s at 30 fps) all wait in the socket: read in a few milliseconds, they are
    recorded 1/30 s apart, as the camera stamped them, not as a fast-forward."""
    clip = make_clip(tmp_path / "cam.ts", width=96, height=64, frames=FRAMES, fps=30)
    port, thread = serve_once(clip.read_bytes())
    out = tmp_path / "out.ts"
    config = tmp_path / "keep.yaml"  # queues long enough to keep the whole burst (live queues drop the oldest)
    config.write_text(f"live: {{queue_size: {FRAMES}, max_latency_ms: 10000}}\n")
    r = run("enhance", f"tcp://127.0.0.1:{port}", str(out), "--model", "identity", "--max-frames", str(FRAMES),
            "--config", str(config))
    thread.join(5)
    assert r.returncode == 0, r.stderr
    times = frame_times(out)
    steps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) == FRAMES
    assert all(abs(s - 1 / 30) < 0.002 for s in steps), [round(s, 4) for s in steps]
