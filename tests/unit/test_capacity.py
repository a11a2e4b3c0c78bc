"""bench --capacity: the search for the largest N, and a real trial of paced cameras on one service."""

from fractions import Fraction

import av
import numpy as np

from vidclear.capacity import PacedClip, Trial, find_capacity, run_trial
from vidclear.config import load_config


def test_the_search_finds_the_largest_passing_count_with_few_trials():
    tried = []

    def trial(n):
        tried.append(n)
        return Trial(n, n <= 5, 1.0 if n <= 5 else 0.9, 100.0, 10.0)

    assert find_capacity(trial).streams == 5
    assert tried == [1, 2, 4, 8, 6, 5]
    assert find_capacity(lambda n: Trial(n, False, 0.5, 9e9, 1.0)) is None
    assert find_capacity(lambda n: Trial(n, True, 1.0, 1.0, 1.0), most=3).streams == 3


def frames(n=10, w=64, h=48):
    out = []
    for i in range(n):
        rgb = np.zeros((h, w, 3), np.uint8)
        rgb[:, (i * 3) % w] = 255
        out.append(av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p"))
    return out


def test_a_paced_clip_sends_at_its_frame_rate_and_loops():
    source = PacedClip(frames(4), Fraction(20), "cam0")
    got = []
    for frame, captured in source.frames():
        got.append((frame, captured))
        if len(got) == 12:
            source.close()
    assert len(got) == 12 and got[0][0] is got[4][0]  # looped
    span = got[-1][1] - got[0][1]
    assert 11 / 20 * 0.9 <= span <= 11 / 20 * 1.5
    assert source.stats.frames == 12


def test_two_paced_cameras_on_one_service_keep_their_frames():
    cfg = load_config(overrides={"model": "bicubic-x2", "backend": "onnxruntime", "device": "cpu",
                                 "encoder.preset": "ultrafast"})
    result = run_trial(cfg, frames(), Fraction(10), 2, 2.0)
    assert result.ok and result.worst_kept >= 0.99
    assert 7 <= result.fps_per_stream <= 11  # ~10 fps each, minus the start
    assert result.latency_p95_ms < cfg.live.max_latency_ms
