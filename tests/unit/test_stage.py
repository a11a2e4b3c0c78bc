import threading
import time

import pytest

from vidclear.errors import StageFailed
from vidclear.pipeline.runner import Pipeline
from vidclear.pipeline.stage import SourceStage, Stage


class Numbers(SourceStage):
    name = "source"

    def __init__(self, n, delay=0.0):
        super().__init__()
        self.n, self.delay = n, delay

    def frames(self):
        for i in range(self.n):
            if self.delay:
                time.sleep(self.delay)
            yield i


class Double(Stage):
    name = "double"

    def process(self, item):
        return item * 2


class Collect(Stage):
    name = "sink"

    def __init__(self):
        super().__init__()
        self.items = []
        self.closed_with = None

    def process(self, item):
        self.items.append(item)

    def close(self, completed):
        self.closed_with = completed


class FailAt(Stage):
    def __init__(self, name, at):
        super().__init__()
        self.name = self.stats.name = name
        self.at = at

    def process(self, item):
        if item == self.at:
            raise RuntimeError(f"boom at {item}")
        return item


class Batcher(Stage):
    name = "infer"
    batch_size = 4

    def __init__(self):
        super().__init__()
        self.batches = []

    def process_batch(self, items):
        self.batches.append(len(items))
        time.sleep(0.01)  # slower than the source, so frames queue up
        return items


def vidclear_threads():
    return [t for t in threading.enumerate() if t.name.startswith("vidclear-")]


def test_items_flow_in_order_through_small_queues():
    sink = Collect()
    result = Pipeline([Numbers(200), Double(), sink], queue_size=2).run()
    assert sink.items == [2 * i for i in range(200)]
    assert result.frames == 200
    assert [s.items for s in result.stages] == [200, 200, 200]
    assert sink.closed_with is True
    assert all(q.high_water <= 2 for q in result.queues)
    assert all(q.dropped == 0 for q in result.queues)
    assert vidclear_threads() == []


def test_failing_stage_stops_the_run_within_a_second_and_is_named():
    sink = Collect()
    # a slow endless-ish source: without the abort it would run for 100 s
    stages = [Numbers(10_000, delay=0.01), FailAt("infer", 20), sink]
    start = time.monotonic()
    with pytest.raises(StageFailed, match=r"stage 'infer' failed: boom at 20") as info:
        Pipeline(stages, queue_size=4).run()
    elapsed = time.monotonic() - start
    assert info.value.stage == "infer"
    assert elapsed < 0.2 * 20 + 1.0
    assert sink.closed_with is False
    assert vidclear_threads() == []


def test_failure_in_the_source_stops_downstream_stages():
    class BadSource(Numbers):
        def frames(self):
            yield 1
            raise OSError("disk gone")

    with pytest.raises(StageFailed, match="stage 'source' failed: disk gone"):
        Pipeline([BadSource(0), Double(), Collect()]).run()
    assert vidclear_threads() == []


def test_failure_while_downstream_is_blocked_on_a_full_queue():
    class Stuck(Stage):
        name = "slow"

        def process(self, item):
            if item == 3:
                raise ValueError("bad frame")
            time.sleep(0.05)
            return item

    start = time.monotonic()
    with pytest.raises(StageFailed, match="stage 'slow' failed: bad frame"):
        Pipeline([Numbers(1000), Stuck(), Collect()], queue_size=1).run()
    assert time.monotonic() - start < 1.5
    assert vidclear_threads() == []


def test_infer_stage_takes_queued_items_as_a_batch():
    batcher = Batcher()
    sink = Collect()
    result = Pipeline([Numbers(40), batcher, sink], queue_size=8).run()
    assert sink.items == list(range(40))
    assert sum(batcher.batches) == 40
    assert max(batcher.batches) == 4
    assert result.frames == 40


def test_request_stop_keeps_a_gap_free_prefix():
    sink = Collect()

    class SlowDouble(Double):
        def process(self, item):
            time.sleep(0.01)
            return item * 2

    pipe = Pipeline([Numbers(100_000), SlowDouble(), sink], queue_size=8)
    timer = threading.Timer(0.3, pipe.request_stop, args=("SIGINT",))
    timer.start()
    start = time.monotonic()
    result = pipe.run()
    assert time.monotonic() - start < 1.5
    assert result.interrupted_by == "SIGINT"
    assert sink.items, "frames processed before the stop are kept"
    assert sink.items == [2 * i for i in range(len(sink.items))], "no gaps"
    assert sink.closed_with is True
    assert vidclear_threads() == []


def test_stats_separate_busy_time_from_waiting():
    class Sleepy(Stage):
        name = "sleepy"

        def process(self, item):
            time.sleep(0.02)
            return item

    result = Pipeline([Numbers(20), Sleepy(), Collect()], queue_size=2).run()
    source, sleepy, sink = result.stages
    assert sleepy.busy >= 0.35
    assert source.wait_out > 0.2  # blocked on the full queue most of the time
    assert sink.wait_in > 0.2
    assert result.busiest.name == "sleepy"
