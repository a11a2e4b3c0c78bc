"""StreamClock: live frames spaced by the camera's timestamps, held to the arrival clock."""

from __future__ import annotations

import logging
import random

import pytest

from vidclear.io.live_clock import MAX_STRAY, MIN_GAP, RATE, StreamClock

STEP = 1 / 15  # a 15 fps camera


def stamps(clock: StreamClock, arrivals: list[float], times: list) -> list[float]:
    return [clock.stamp(a, t) for a, t in zip(arrivals, times)]


def steps(values: list[float]) -> list[float]:
    return [b - a for a, b in zip(values, values[1:])]


def test_network_jitter_is_not_copied_into_the_stamps():
    rng = random.Random(1)
    times = [i * STEP for i in range(600)]
    arrivals = [100 + t + rng.uniform(0, 0.04) for t in times]  # up to 40 ms of jitter
    out = stamps(StreamClock(), arrivals, times)
    assert max(abs(s - STEP) for s in steps(out)) < 0.001, "spacing follows the camera to within 1 ms"
    assert max(abs(s - STEP) for s in steps(arrivals)) > 0.03, "the arrivals themselves were jittered"
    assert all(s <= a + 0.04 and a - s < 0.045 for s, a in zip(out, arrivals)), "stamps stay by the arrivals"


def test_frames_queued_before_reading_keep_their_spacing():
    """A second of frames queued in the socket comes out at once, then the stream runs live."""
    times = [i * STEP for i in range(150)]
    arrivals = [50.0 + max(0.0, t - 1.0) + 0.001 * i for i, t in enumerate(times)]
    out = stamps(StreamClock(), arrivals, times)
    assert out[0] == arrivals[0]
    assert all(abs(s - STEP) <= RATE * STEP + 1e-9 for s in steps(out)), "no fast-forward, no freeze"
    assert out[14] - out[0] == pytest.approx(14 * STEP, abs=0.01)


def test_a_reader_stall_plays_as_the_camera_sent_it_not_as_a_freeze_then_a_burst():
    times = [i * STEP for i in range(90)]
    arrivals = [t for t in times]
    for i in range(30, 39):  # a 0.6 s stall: frames 30-38 are read together at frame 39's time
        arrivals[i] = times[39]
    out = stamps(StreamClock(), arrivals, times)
    assert max(abs(s - STEP) for s in steps(out)) < 0.001
    assert max(steps(arrivals)) > 0.6


def test_a_camera_clock_that_drifts_is_followed():
    """A camera crystal 200 ppm fast, for an hour: the stamps stay with the arrivals."""
    n = 15 * 3600
    times = [i * STEP * 1.0002 for i in range(n)]
    arrivals = [7.0 + i * STEP for i in range(n)]
    clock = StreamClock()
    out = stamps(clock, arrivals, times)
    assert abs(out[-1] - arrivals[-1]) < 0.01, "0.72 s of drift followed"
    assert clock.resyncs == 0
    assert max(abs(s - STEP) for s in steps(out)) < 0.001


@pytest.mark.parametrize("jump", [-30.0, -0.5, 0.0, 5.0, 3600.0], ids=["back30s", "back", "repeat", "fwd5s", "fwd1h"])
def test_a_jump_of_the_camera_clock_starts_again_from_the_arrival_and_stamps_keep_increasing(jump):
    times = [i * STEP for i in range(30)] + [29 * STEP + jump + i * STEP for i in range(30)]
    arrivals = [10.0 + i * STEP for i in range(60)]
    clock = StreamClock()
    out = stamps(clock, arrivals, times)
    assert all(s > 0 for s in steps(out))
    assert out[30] == pytest.approx(arrivals[30], abs=1e-3)
    assert out[-1] == pytest.approx(arrivals[-1], abs=1e-3)
    assert clock.resyncs == 1


def test_a_frame_far_later_than_its_timestamp_starts_again_from_its_arrival():
    times = [i * STEP for i in range(40)]
    arrivals = [i * STEP for i in range(20)] + [i * STEP + MAX_STRAY + 1 for i in range(20, 40)]
    clock = StreamClock()
    out = stamps(clock, arrivals, times)
    assert out[20] == pytest.approx(arrivals[20]) and clock.resyncs == 1
    assert max(abs(s - STEP) for s in steps(out[20:])) < 1e-6


def test_timestamps_that_run_ahead_of_the_frames_are_dropped_for_arrival_times(caplog):
    """A camera stamping 30 fps while it sends 15: the stamps would run away from real time."""
    caplog.set_level(logging.WARNING)
    arrivals = [i * STEP for i in range(200)]
    times = [2 * a for a in arrivals]
    out = stamps(StreamClock("rtsp://cam/1"), arrivals, times)
    assert all(s > 0 for s in steps(out))
    assert out[-1] - arrivals[-1] < MAX_STRAY + 0.1
    assert steps(out)[-1] == pytest.approx(STEP)
    assert "rtsp://cam/1: the camera's timestamps run" in caplog.text


def test_frames_without_timestamps_are_stamped_by_arrival():
    arrivals = [3.0, 3.05, 3.2, 3.21]
    assert stamps(StreamClock(), arrivals, [None] * 4) == arrivals


def test_a_restart_begins_at_the_arrival_never_before_the_last_stamp():
    clock = StreamClock()
    first = stamps(clock, [i * STEP for i in range(10)], [1000 + i * STEP for i in range(10)])
    clock.restart()
    assert clock.stamp(0.7, 5.0) == pytest.approx(0.7)  # a new session: its own clock, a gap kept
    before = clock.last
    clock.restart()
    assert clock.stamp(0.1, 9.0) == pytest.approx(before + MIN_GAP)  # an arrival before the last stamp
    assert first[-1] < before


def test_frames_that_arrive_together_without_timestamps_stay_a_millisecond_apart():
    """An RTSP camera's first frame comes without a timestamp, and deinterlace: fields makes two frames of it with
    one arrival: 0.1 ms apart they became one moment in a Matroska file (its clock counts milliseconds)."""
    clock = StreamClock()
    first, second = stamps(clock, [14947.4047, 14947.4047], [None, None])
    assert round(second * 1000) - round(first * 1000) >= 1
    assert second - first == pytest.approx(MIN_GAP) and MIN_GAP == pytest.approx(0.001)
