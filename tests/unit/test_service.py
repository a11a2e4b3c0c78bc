"""The inference service: batching across streams, fairness, deadlines, cancellation, bounded waits.

A fake backend sleeps a fixed time per batch (the service does not care what a
model computes), so every bound below is in units of that inference time.
"""

import logging
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from vidclear.backends.base import BackendOptions
from vidclear.engine.service import Cancelled, InferenceService, ServicePolicy
from vidclear.pipeline.queues import Aborted

T = 0.05  # seconds one batch takes
SLACK = 0.05  # thread scheduling on a loaded 2-core CI machine


class SleepyBackend:
    """Returns its input after ``T`` seconds; records each batch's size."""

    spec = SimpleNamespace(name="sleepy", channels=1, frames=1)
    device = "cpu"
    options = BackendOptions()

    def __init__(self, seconds=T, gate=None):
        self.seconds = seconds
        self.gate = gate
        self.batches = []

    def infer(self, batch):
        if self.gate is not None:
            self.gate.wait()
        time.sleep(self.seconds)
        self.batches.append(len(batch))
        return batch * 2


def service(max_frames=4, max_wait=0.02, workers=1, backend=None):
    svc = InferenceService(None, "cpu", BackendOptions(), ServicePolicy(workers, None, max_frames, max_wait))
    return svc, svc.add(backend or SleepyBackend())


def frames(h, w, n=1, value=0.25):
    return np.full((n, 1, h, w), value, np.float32)


def timed(stream, model, batch, limit=3.0):
    """(seconds, output) of one request; a request not served within ``limit`` s fails the test."""
    start = time.monotonic()
    request = stream.submit(model, batch)
    give_up = threading.Event()
    timer = threading.Timer(limit, give_up.set)
    timer.start()
    try:
        out = stream.wait(request, give_up)
    except Aborted:
        pytest.fail(f"stream '{stream.name}': a request was not served within {limit} s")
    finally:
        timer.cancel()
    return time.monotonic() - start, out


def test_each_stream_gets_its_own_output():
    svc, model = service()
    try:
        a, b = svc.stream("a"), svc.stream("b")
        ra, rb = a.submit(model, frames(4, 4, 2, 0.1)), b.submit(model, frames(4, 4, 1, 0.3))
        np.testing.assert_allclose(a.wait(ra), frames(4, 4, 2, 0.2))
        np.testing.assert_allclose(b.wait(rb), frames(4, 4, 1, 0.6))
    finally:
        svc.close()


def test_a_stream_that_stops_with_frames_pending_stalls_no_other():
    """Three streams of different shapes; one submits and then never again (a camera that died).

    Its frames are served by their deadline although nothing else arrives, and the
    other streams' requests each complete within max_wait_ms + one inference.
    """
    max_wait = 0.02
    svc, model = service(max_wait=max_wait)
    try:
        dead, a, b = svc.stream("dead"), svc.stream("a"), svc.stream("b")
        start = time.monotonic()
        stranded = [dead.submit(model, frames(8, 16)) for _ in range(3)]
        while not all(r.done() for r in stranded):
            assert time.monotonic() - start < max_wait + T + SLACK, "the stranded frames were never served"
            time.sleep(0.002)
        latencies = []
        for i in range(10):
            stream, shape = (a, (8, 8)) if i % 2 == 0 else (b, (8, 12))
            latency, out = timed(stream, model, frames(*shape))
            assert out.shape == (1, 1, *shape)
            latencies.append(latency)
        assert max(latencies) <= max_wait + T + SLACK, latencies
    finally:
        svc.close()


def test_streams_of_different_shapes_wait_at_most_for_the_inference_in_flight():
    """Two live streams of different shapes at once, one worker: a request waits for at most the
    batch already running, then its own."""
    max_wait = 0.02
    svc, model = service(max_wait=max_wait)
    latencies = {"a": [], "b": []}

    def feed(name, shape):
        stream = svc.stream(name)
        for _ in range(8):
            latencies[name].append(timed(stream, model, frames(*shape))[0])
            time.sleep(0.01)

    try:
        threads = [threading.Thread(target=feed, args=("a", (8, 8))), threading.Thread(target=feed, args=("b", (6, 8)))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        every = latencies["a"] + latencies["b"]
        assert len(every) == 16
        assert max(every) <= max_wait + 2 * T + SLACK, latencies
    finally:
        svc.close()


def test_a_cancelled_stream_never_blocks_another():
    """Same shape, a long batching window: while the quiet stream is open the other waits for it
    (bounded by max_wait); once it is closed, never. Its own waiters are told at once."""
    max_wait = 0.6
    gate = threading.Event()
    svc, model = service(max_wait=max_wait, backend=SleepyBackend(gate=gate))
    try:
        quiet, busy = svc.stream("quiet"), svc.stream("busy")
        gate.set()
        quiet.wait(quiet.submit(model, frames(8, 8)))  # the quiet stream now feeds this group
        waited, _ = timed(busy, model, frames(8, 8))
        assert max_wait - 0.05 <= waited <= max_wait + T + SLACK, "bounded by max_wait while the other is open"
        gate.clear()  # hold the next batch so the quiet stream's requests stay pending
        held = busy.submit(model, frames(8, 8))
        time.sleep(max_wait + 0.05)
        pending = [quiet.submit(model, frames(8, 8)) for _ in range(3)]
        start = time.monotonic()
        quiet.close()
        for request in pending:
            with pytest.raises(Cancelled):
                quiet.wait(request)
        assert time.monotonic() - start < 0.2
        gate.set()
        busy.wait(held)
        after = [timed(busy, model, frames(8, 8))[0] for _ in range(3)]
        assert max(after) <= T + SLACK, after
        with pytest.raises(Cancelled):
            quiet.submit(model, frames(8, 8))
    finally:
        gate.set()
        svc.close()


def test_a_fast_stream_delays_a_slow_one_by_at_most_one_batch():
    """The fast stream keeps sixteen requests out and submits over ten times as often; the slow
    one still gets into the next batch (streams take turns), never behind the fast one's queue."""
    max_wait, batch_t = 0.01, 0.04
    svc, model = service(max_frames=4, max_wait=max_wait, backend=SleepyBackend(batch_t))
    stop = threading.Event()
    fast_count = [0]

    def fast():
        stream = svc.stream("fast")
        out = [stream.submit(model, frames(8, 8)) for _ in range(16)]
        while not stop.is_set():
            stream.wait(out.pop(0))
            fast_count[0] += 1
            out.append(stream.submit(model, frames(8, 8)))
        stream.close()

    feeder = threading.Thread(target=fast)
    try:
        feeder.start()
        time.sleep(0.1)
        slow = svc.stream("slow")
        latencies = []
        for _ in range(8):
            latencies.append(timed(slow, model, frames(8, 8))[0])
            time.sleep(0.1)
        stop.set()
        feeder.join(5)
        assert fast_count[0] >= 10 * len(latencies), (fast_count[0], len(latencies))
        # one batch already running when it came, then its own
        assert max(latencies) <= max_wait + 2 * batch_t + SLACK, latencies
        assert max(svc.models["sleepy"].backend.batches) <= 4
    finally:
        stop.set()
        svc.close()


def test_frames_of_one_shape_from_several_streams_are_batched():
    svc, model = service(max_frames=4, max_wait=0.2)
    try:
        streams = [svc.stream(f"cam{i}") for i in range(4)]
        for s in streams:  # every stream has fed the group once: the batch fills as soon as all four wait
            s.wait(s.submit(model, frames(8, 8)))
        before = len(model.backend.batches)
        start = time.monotonic()
        requests = [s.submit(model, frames(8, 8, value=0.1 * i)) for i, s in enumerate(streams)]
        outs = [s.wait(r) for s, r in zip(streams, requests)]
        assert time.monotonic() - start < 0.2, "everyone waiting: no need to wait for max_wait"
        assert model.backend.batches[before:] == [4]
        for i, out in enumerate(outs):
            np.testing.assert_allclose(out, frames(8, 8, value=0.2 * i))
    finally:
        svc.close()


def test_idle_workers_share_the_waiting_frames():
    """Two workers and two waiting frames: one each at once, not a batch of two on one worker."""
    svc, model = service(max_frames=4, max_wait=0.0, workers=2)
    try:
        s = svc.stream("file")
        start = time.monotonic()
        requests = [s.submit(model, frames(8, 8)) for _ in range(2)]
        for r in requests:
            s.wait(r)
        assert time.monotonic() - start < T + T / 2 + SLACK
        assert model.backend.batches == [1, 1]
    finally:
        svc.close()


def test_a_wait_checks_the_abort_and_an_error_reaches_every_waiter():
    gate = threading.Event()
    svc, model = service(backend=SleepyBackend(gate=gate))
    try:
        s = svc.stream("s")
        request = s.submit(model, frames(4, 4))
        abort = threading.Event()
        threading.Timer(0.1, abort.set).start()
        start = time.monotonic()
        with pytest.raises(Aborted):
            s.wait(request, abort)
        assert time.monotonic() - start < 0.1 + 0.1
    finally:
        gate.set()
        svc.close()

    class Broken(SleepyBackend):
        def infer(self, batch):
            raise RuntimeError("CUDA error: out of memory (simulated)")

    svc, model = service(max_wait=0.05, backend=Broken())
    try:
        a, b = svc.stream("a"), svc.stream("b")
        ra, rb = a.submit(model, frames(4, 4)), b.submit(model, frames(4, 4))
        for stream, request in ((a, ra), (b, rb)):
            with pytest.raises(RuntimeError, match="out of memory"):
                stream.wait(request)
    finally:
        svc.close()


def test_closing_the_service_ends_its_threads_and_cancels_what_waits():
    gate = threading.Event()
    svc, model = service(max_wait=5.0, backend=SleepyBackend(gate=gate))
    s, other = svc.stream("s"), svc.stream("other")
    gate.set()
    other.wait(other.submit(model, frames(4, 4)))
    gate.clear()
    request = s.submit(model, frames(4, 4))  # 'other' feeds the group too: this one waits up to 5 s
    svc.close()
    with pytest.raises(Cancelled):
        s.wait(request)
    assert [t for t in threading.enumerate() if t.name.startswith("vidclear-infer")] == []
    gate.set()


def test_each_model_is_loaded_once_however_many_ask(caplog):
    from vidclear.backends.torch_backend import TorchBackend
    from vidclear.models.registry import get_model

    svc = InferenceService(TorchBackend, "cpu", BackendOptions(), ServicePolicy())
    spec = get_model("bicubic-x2")
    got = []
    try:
        with caplog.at_level(logging.INFO, logger="vidclear"):
            threads = [threading.Thread(target=lambda: got.append(svc.model(spec))) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
        assert len(got) == 4 and all(m is got[0] for m in got)
        assert sum("loaded model 'bicubic-x2'" in r.getMessage() for r in caplog.records) == 1
    finally:
        svc.close()


def test_a_backend_that_cannot_write_its_cache_falls_back_only_under_auto(caplog):
    """The cache's own failure is an OutputError (a read-only or full disk): auto's service loads the model on
    its fallback and says why; a service without one (a backend the user named) lets the error through."""
    from vidclear.backends.base import Backend
    from vidclear.backends.select import auto_fallback
    from vidclear.backends.torch_backend import TorchBackend
    from vidclear.errors import OutputError
    from vidclear.models.registry import get_model

    class NoCache(Backend):
        name = "nocache"

        def __init__(self, spec, device, options=None):
            raise OutputError("cannot write /cache/x.onnx: no space left on the device")

        @classmethod
        def unavailable_reason(cls, device):
            return None

        def infer(self, batch):
            return batch

    assert auto_fallback("auto") is TorchBackend and auto_fallback("onnxruntime") is None
    spec = get_model("bicubic-x2")
    svc = InferenceService(NoCache, "cpu", BackendOptions(), ServicePolicy(), fallback=auto_fallback("auto"))
    try:
        with caplog.at_level(logging.WARNING, logger="vidclear"):
            probe = svc.new_backend(spec, (32, 32))  # serve's keep-up probe, then the model itself: one warning
            model = svc.model(spec)
        assert isinstance(probe, TorchBackend) and isinstance(model.backend, TorchBackend)
        assert svc.backend_name("bicubic-x2") == "torch" and svc.backend_name("espcn-x2") == "nocache"
        assert svc.describe()["models"]["bicubic-x2"]["backend"] == "torch"
        assert [r.getMessage() for r in caplog.records] == [
            "backend auto: nocache cannot load 'bicubic-x2' (cannot write /cache/x.onnx: no space left on the device); "
            "running it on torch instead, which is slower here (set VIDCLEAR_ENGINES to a writable folder to keep "
            "nocache)"]
    finally:
        svc.close()
    svc = InferenceService(NoCache, "cpu", BackendOptions(), ServicePolicy(), fallback=auto_fallback("nocache"))
    try:
        with pytest.raises(OutputError, match="no space left"):
            svc.model(spec)
    finally:
        svc.close()
