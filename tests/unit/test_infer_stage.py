"""The infer stage on the inference service with several frames in flight: order, errors, threads,
and how many workers it gets."""

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from vidclear.errors import StageFailed
from vidclear.frame import Frame
from vidclear.pipeline.runner import Pipeline
from vidclear.pipeline.stage import SourceStage, Stage
from vidclear.backends.base import BackendOptions
from vidclear.engine.service import InferenceService, ServicePolicy, plan_workers
from vidclear.pipeline.stages import InferStage


class SlowFirstBackend:
    """Identity model whose early frames take longest, so a pool finishes them out of order."""

    spec = SimpleNamespace(name="slow-first", channels=1, frames=1)
    device = "cpu"
    options = BackendOptions()

    def __init__(self, fail_at=None):
        self.fail_at = fail_at
        self.calls = 0
        self.active = 0
        self.most_active = 0
        self.lock = threading.Lock()

    def infer(self, batch):
        value = int(round(batch[0, 0, 0, 0] * 255))
        if value == self.fail_at:
            raise RuntimeError(f"model broke at {value}")
        with self.lock:
            self.active += 1
            self.most_active = max(self.most_active, self.active)
        time.sleep(0.02 if value % 2 == 0 else 0.001)
        with self.lock:
            self.active -= 1
            self.calls += 1
        return batch


def frame(i):
    y = np.full((4, 6), i, np.uint8)
    return Frame(i, i, None, y, y[::2, ::2], y[::2, ::2], luma_in=y.astype(np.float32) / 255)


class Frames(SourceStage):
    name = "decode"

    def __init__(self, n):
        super().__init__()
        self.n = n

    def frames(self):
        for i in range(self.n):
            yield frame(i)


class Collect(Stage):
    name = "encode"

    def __init__(self):
        super().__init__()
        self.seen = []

    def process(self, f):
        self.seen.append((f.index, int(f.y[0, 0])))


def infer_stage(backend, workers=1, batch_size=1):
    """An infer stage on its own service (closed with the stage), as a file run has it."""
    service = InferenceService(None, "cpu", BackendOptions(), ServicePolicy(workers, None, max_frames=batch_size))
    stage = InferStage(service.stream("test"), service.add(backend), batch_size, in_flight=workers)
    closing = stage.close

    def close(completed):
        closing(completed)
        service.close()

    stage.close = close
    return stage


def pool_threads():
    return [t for t in threading.enumerate() if t.name.startswith("vidclear-infer")]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_frames_leave_in_order_with_their_own_pixels(workers):
    backend = SlowFirstBackend()
    sink = Collect()
    Pipeline([Frames(40), infer_stage(backend, workers=workers), sink], queue_size=2).run()
    assert sink.seen == [(i, i) for i in range(40)]
    assert backend.calls == 40
    assert pool_threads() == []


def test_pooled_busy_time_is_the_work_per_worker():
    """The stage's own thread only waits on its pool; its busy time is the pool's work divided by the workers."""
    infer = infer_stage(SlowFirstBackend(), workers=2)
    Pipeline([Frames(40), infer, Collect()], queue_size=2).run()
    work = 20 * 0.02 + 20 * 0.001  # the sleeps of the 40 calls
    assert work / 2 * 0.95 <= infer.stats.busy <= work / 2 * 1.9


def test_an_error_in_a_worker_stops_the_run_and_names_the_stage():
    with pytest.raises(StageFailed, match="stage 'infer' failed: model broke at 7"):
        Pipeline([Frames(40), infer_stage(SlowFirstBackend(fail_at=7), workers=2), Collect()], queue_size=2).run()
    assert pool_threads() == []


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_bound_the_inferences_in_flight(workers):
    """Two workers really run two inferences at once (the pool is not serialised), never more."""
    backend = SlowFirstBackend()
    stage = infer_stage(backend, workers=workers)
    stage.setup()
    try:
        out = [f for i in range(0, 20, 2) for f in stage.process_batch([frame(i)])] + list(stage.finish())
    finally:
        stage.close(True)
    assert [f.index for f in out] == list(range(0, 20, 2))
    assert backend.most_active == workers


@pytest.mark.parametrize(
    ("setting", "device", "live", "cores", "expected"),
    [
        ("auto", "cpu", False, 2, (2, 1)),
        ("auto", "cpu", False, 16, (2, 8)),
        ("auto", "cpu", False, 1, (1, None)),
        ("auto", "cpu", True, 8, (1, None)),  # live: latency first
        ("auto", "cuda", False, 16, (1, None)),
        (3, "cpu", True, 8, (3, 2)),
        (4, "cuda", False, 8, (1, None)),  # GPU backends reuse one set of buffers
        (1, "cpu", False, 8, (1, None)),
    ],
)
def test_plan_workers(setting, device, live, cores, expected):
    assert plan_workers(setting, device, live, cores) == expected


class HalveRgbBackend:
    """A colour model that halves RGB and remembers what it was given."""

    spec = SimpleNamespace(name="halve-rgb", channels=3, frames=1)
    device = "cpu"
    options = BackendOptions()

    def __init__(self):
        self.inputs = []

    def infer(self, batch):
        self.inputs.append(batch)
        return batch * 0.5


def run_stage(stage, frames):
    stage.setup()
    try:
        return stage.process_batch(frames) + list(stage.finish())
    finally:
        stage.close(True)


def colour_frame(i, h=6, w=8):
    rng = np.random.default_rng(i)
    y = rng.integers(16, 236, (h, w), dtype=np.uint8)
    u, v = (rng.integers(16, 241, (h // 2, w // 2), dtype=np.uint8) for _ in range(2))
    return Frame(i, i, None, y, u, v)


@pytest.mark.parametrize("batch_size", [1, 3])
def test_a_colour_model_gets_its_rgb_from_preprocess_and_gives_the_same_frames(batch_size):
    from vidclear.frame import yuv_to_rgb
    from vidclear.pipeline.stages import PreprocessStage

    direct_backend, staged_backend = HalveRgbBackend(), HalveRgbBackend()
    direct = run_stage(infer_stage(direct_backend, batch_size=batch_size), [colour_frame(i) for i in range(batch_size)])
    prepared = [PreprocessStage(1, luma_model=False).process(colour_frame(i)) for i in range(batch_size)]
    for f in prepared:
        np.testing.assert_array_equal(f.rgb_in, yuv_to_rgb(f.y, f.u, f.v))
    first_rgb = prepared[0].rgb_in
    staged = run_stage(infer_stage(staged_backend, batch_size=batch_size), prepared)
    assert all(f.rgb_in is None for f in staged)  # released once used
    if batch_size == 1:
        assert np.shares_memory(staged_backend.inputs[0], first_rgb)  # no copy on the way
    np.testing.assert_array_equal(staged_backend.inputs[0], direct_backend.inputs[0])
    for a, b in zip(direct, staged):
        for plane in ("y", "u", "v"):
            np.testing.assert_array_equal(getattr(a, plane), getattr(b, plane))
    assert (staged[0].y < colour_frame(0).y).mean() > 0.9  # the model's output, not the input
