"""The one inference service: every pipeline, file or camera, runs its models through it.

A stream (one pipeline) submits requests: some frames for one model, as one
float32 array (N, C, H, W). Requests are grouped by (model, input shape); a
group is served when

- it holds ``max_frames`` frames, or
- its oldest request has waited ``max_wait``, or
- every open stream that feeds it has a request waiting in it (waiting longer
  could add nothing: a file run, the only stream, never waits).

Worker threads wait on the earliest deadline, never on the next arrival, so a
request is served even when no other one ever comes (a camera that dies with
frames pending stalls nobody). Within a group the streams take turns, one
request each, so a fast stream delays a slow one by at most one batch. A stream
that ends cancels what it left. Each model is loaded once per process.

The policy (how many batches run at once, CPU threads per call, batch size,
wait) is chosen by ``plan_policy``: two frames in flight on half the cores
each for a file on a multi-core CPU, one call at a time on all cores for live
sources and GPUs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from ..backends.base import Backend, BackendOptions
from ..errors import OutputError
from ..models.registry import ModelSpec
from ..pipeline.queues import Aborted

log = logging.getLogger(__name__)

POLL_S = 0.05  # the longest a waiting stage goes without checking its pipeline's stop


class Cancelled(Exception):
    """The request's stream ended before it was served."""


@dataclass(frozen=True)
class ServicePolicy:
    workers: int = 1  # batches inferred at once
    threads: Optional[int] = None  # CPU threads per inference call; None: all cores
    max_frames: int = 4  # frames one batch gathers across streams
    max_wait: float = 0.010  # seconds the oldest request of a group may wait for the batch to fill


def plan_workers(setting: int | str, device: str, live: bool, cores: int) -> tuple[int, Optional[int]]:
    """(batches at once, threads per inference call).

    On a CPU a file is fastest with two frames in flight, each on half the
    cores: one inference split over all cores waits for its slowest thread, and
    the decoder and encoder keep taking cores from it (docs/performance.md). A
    live source keeps one frame at a time on all cores: latency first. A GPU
    runs one call at a time (its backends reuse one set of buffers).
    """
    if device != "cpu":
        if setting not in ("auto", 1):
            log.info("pipeline.infer_workers=%s applies to CPUs only: one inference at a time on %s", setting, device)
        return 1, None
    workers = (2 if not live and cores >= 2 else 1) if setting == "auto" else int(setting)
    if workers == 1:
        return 1, None
    return workers, max(1, cores // workers)


def plan_policy(cfg, device: str, live: bool, cores: int) -> ServicePolicy:  # noqa: ANN001 - a Config
    workers, threads = plan_workers(cfg.pipeline.infer_workers, device, live, cores)
    return ServicePolicy(workers, threads, cfg.batch.max_frames, cfg.batch.max_wait_ms / 1000)


class Request:
    """Frames of one stream for one model; ``output`` or ``error`` is set when it is done."""

    def __init__(self, stream: "Stream", model: "Model", batch: np.ndarray) -> None:
        self.stream = stream
        self.model = model
        self.batch = batch
        self.frames = len(batch)
        self.submitted = time.monotonic()
        self.output: Optional[np.ndarray] = None
        self.error: Optional[BaseException] = None
        self.seconds = 0.0  # this request's share of its batch's inference time
        self._done = threading.Event()

    def done(self) -> bool:
        return self._done.is_set()

    def _finish(self, output: Optional[np.ndarray] = None, error: Optional[BaseException] = None) -> None:
        self.output, self.error = output, error
        self.batch = None  # type: ignore[assignment] - release the input
        self._done.set()


@dataclass
class Model:
    """A loaded model: the service's handle, and what it did."""

    spec: ModelSpec
    backend: Backend
    batches: int = 0
    frames: int = 0

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass
class _Group:
    """The waiting requests of one (model, shape), one queue per stream in turn order."""

    model: Model
    queues: "OrderedDict[Stream, deque[Request]]" = field(default_factory=OrderedDict)
    members: set = field(default_factory=set)  # open streams that have fed this group
    frames: int = 0

    def oldest(self) -> Optional[float]:
        firsts = [q[0].submitted for q in self.queues.values() if q]
        return min(firsts) if firsts else None

    def everyone_waiting(self) -> bool:
        return all(self.queues.get(s) for s in self.members)


class Stream:
    """One pipeline's connection to the service."""

    def __init__(self, service: "InferenceService", name: str) -> None:
        self.service = service
        self.name = name
        self.closed = False
        self.busy = 0.0  # inference seconds spent on this stream's frames

    def submit(self, model: Model, batch: np.ndarray) -> Request:
        return self.service._submit(self, model, batch)

    def wait(self, request: Request, abort: Optional[threading.Event] = None) -> np.ndarray:
        """The request's output. Each wait is bounded and checks ``abort`` (raises Aborted)."""
        while not request._done.wait(POLL_S):
            if abort is not None and abort.is_set():
                raise Aborted()
        if request.error is not None:
            raise request.error
        assert request.output is not None
        return request.output

    def close(self) -> None:
        """The stream has ended: cancel what it left waiting."""
        self.service._close_stream(self)


class InferenceService:
    """Loads each model once, batches requests across streams, runs them on ``policy.workers`` threads."""

    def __init__(self, backend_cls: Optional[type[Backend]], device: str, options: BackendOptions,
                 policy: ServicePolicy, fallback: Optional[type[Backend]] = None) -> None:
        self.backend_cls = backend_cls
        self.fallback = fallback
        self._fell_back: set[str] = set()  # the models the fallback runs (new_backend)
        self.device = device
        self.policy = policy
        self.options = replace(options, threads=policy.threads,
                               batch_size=max(options.batch_size, policy.max_frames))
        self.models: dict[str, Model] = {}
        self._load_lock = threading.Lock()
        self._cond = threading.Condition()
        self._groups: dict[tuple, _Group] = {}
        self._closed = False
        self._busy = 0  # workers inferring a batch now
        self._workers = [threading.Thread(target=self._work, name=f"vidclear-infer-{i}", daemon=True)
                         for i in range(policy.workers)]
        for t in self._workers:
            t.start()

    # --- models and streams -----------------------------------------------------
    def model(self, spec: ModelSpec, frame_hw: Optional[tuple[int, int]] = None) -> Model:
        """The loaded model for ``spec``, loading it on first use (once per process)."""
        with self._load_lock:
            model = self.models.get(spec.name)
            if model is None:
                start = time.perf_counter()
                model = Model(spec, self.new_backend(spec, frame_hw))
                self.models[spec.name] = model
                log.info("loaded model '%s' on %s/%s in %.2f s", spec.name, model.backend.name, self.device,
                         time.perf_counter() - start)
            return model

    def new_backend(self, spec: ModelSpec, frame_hw: Optional[tuple[int, int]] = None) -> Backend:
        """A backend of this service's kind for ``spec``; the fallback's when that one cannot write the export or
        engine it caches (``--backend auto`` on a read-only or full disk), said once per model."""
        assert self.backend_cls is not None, "a service made for given backends loads no model"
        options = replace(self.options, frame_hw=frame_hw or self.options.frame_hw)
        if spec.name not in self._fell_back:
            try:
                return self.backend_cls(spec, self.device, options)
            except OutputError as e:
                if self.fallback is None or self.fallback is self.backend_cls:
                    raise
                log.warning("backend auto: %s cannot load '%s' (%s); running it on %s instead, which is slower here "
                            "(set VIDCLEAR_ENGINES to a writable folder to keep %s)", self.backend_cls.name, spec.name,
                            e, self.fallback.name, self.backend_cls.name)
                self._fell_back.add(spec.name)
        assert self.fallback is not None
        return self.fallback(spec, self.device, options)

    def backend_name(self, model_name: str) -> str:
        """The backend that runs ``model_name`` here: the fallback's once the chosen one could not load it."""
        kind = self.fallback if model_name in self._fell_back else self.backend_cls
        return kind.name if kind is not None else "?"

    def add(self, backend: Backend) -> Model:
        """Serve a backend that is already loaded (``bench`` times backends it made itself)."""
        with self._load_lock:
            model = self.models[backend.spec.name] = Model(backend.spec, backend)
            return model

    def stream(self, name: str) -> Stream:
        return Stream(self, name)

    # --- requests -----------------------------------------------------------------
    def _submit(self, stream: Stream, model: Model, batch: np.ndarray) -> Request:
        request = Request(stream, model, batch)
        with self._cond:
            if self._closed or stream.closed:
                raise Cancelled(f"stream '{stream.name}' is closed" if stream.closed else "the service is closed")
            key = (model.name, batch.shape[1:])
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group(model)
            group.members.add(stream)
            group.queues.setdefault(stream, deque()).append(request)
            group.frames += request.frames
            self._cond.notify_all()
        return request

    def _close_stream(self, stream: Stream) -> None:
        with self._cond:
            stream.closed = True
            for group in self._groups.values():
                group.members.discard(stream)
                for request in group.queues.pop(stream, ()):
                    group.frames -= request.frames
                    request._finish(error=Cancelled(f"stream '{stream.name}' ended"))
            self._cond.notify_all()

    def _ready(self, now: float) -> tuple[Optional[_Group], Optional[float]]:
        """The group to serve now (the one waiting longest), else how long until one is due."""
        best, best_oldest, wait = None, None, None
        for group in self._groups.values():
            oldest = group.oldest()
            if oldest is None:
                continue
            due = oldest + self.policy.max_wait
            if group.frames >= self.policy.max_frames or now >= due or group.everyone_waiting():
                if best_oldest is None or oldest < best_oldest:
                    best, best_oldest = group, oldest
            else:
                wait = due - now if wait is None else min(wait, due - now)
        return best, wait

    def _take(self, group: _Group) -> list[Request]:
        """A batch, the streams taking turns one request at a time.

        Up to max_frames frames, but no more than this worker's share of what
        waits: with idle workers beside it, two waiting frames run on two
        workers at once rather than as one batch on one (a CPU gains nothing by
        batching, and loses the second worker).
        """
        idle = len(self._workers) - self._busy
        limit = min(self.policy.max_frames, max(1, -(-group.frames // max(1, idle))))
        taken: list[Request] = []
        frames = 0
        while True:
            progressed = False
            for stream in list(group.queues):
                queue = group.queues[stream]
                if not queue:
                    continue
                if taken and frames + queue[0].frames > limit:
                    continue
                request = queue.popleft()
                taken.append(request)
                frames += request.frames
                group.queues.move_to_end(stream)  # the next batch starts with whoever waited
                progressed = True
                if frames >= limit:
                    break
            if not progressed or frames >= limit:
                break
        for stream in [s for s, q in group.queues.items() if not q]:
            del group.queues[stream]
        group.frames -= frames
        return taken

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    group, wait = self._ready(time.monotonic())
                    if group is not None:
                        break
                    self._cond.wait(wait)
                requests = self._take(group)
                self._busy += 1
            try:
                self._run(group.model, requests)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _run(self, model: Model, requests: list[Request]) -> None:
        batch = requests[0].batch if len(requests) == 1 else np.concatenate([r.batch for r in requests])
        start = time.perf_counter()
        try:
            out = model.backend.infer(batch)
        except Exception as e:  # noqa: BLE001 - every waiting stream gets the error
            for request in requests:
                request._finish(error=e)
            return
        seconds = time.perf_counter() - start
        total = len(batch)
        with self._cond:  # counters shared with the other workers
            model.batches += 1
            model.frames += total
            for request in requests:
                request.seconds = seconds * request.frames / total
                request.stream.busy += request.seconds
        at = 0
        for request in requests:
            request._finish(output=out[at:at + request.frames])
            at += request.frames

    def close(self) -> None:
        """Cancel everything waiting and end the worker threads."""
        with self._cond:
            self._closed = True
            for group in self._groups.values():
                for queue in group.queues.values():
                    for request in queue:
                        request._finish(error=Cancelled("the service closed"))
                group.queues.clear()
            self._cond.notify_all()
        for t in self._workers:
            if t is not threading.current_thread():
                t.join(5)

    def describe(self) -> dict:
        return {"backend": self.backend_cls.name if self.backend_cls else None, "device": self.device, "workers": self.policy.workers,
                "threads": self.options.threads, "max_frames": self.policy.max_frames,
                "max_wait_ms": self.policy.max_wait * 1000,
                "models": {m.name: {"backend": m.backend.name, "batches": m.batches, "frames": m.frames}
                           for m in self.models.values()}}
