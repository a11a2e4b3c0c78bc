import threading
import time

import pytest

from vidclear.pipeline.queues import END, Aborted, FrameQueue


def test_block_policy_applies_backpressure_and_drops_nothing():
    q = FrameQueue(2)
    q.put(1)
    q.put(2)
    done = threading.Event()

    def producer():
        q.put(3)  # blocks until a consumer takes one
        done.set()

    t = threading.Thread(target=producer)
    t.start()
    assert not done.wait(0.2), "put on a full block-queue must wait"
    assert q.get() == 1
    assert done.wait(1)
    t.join()
    assert [q.get(), q.get()] == [2, 3]
    assert q.dropped == 0
    assert q.high_water == 2
    assert q.put_wait >= 0.15


def test_drop_oldest_keeps_the_newest_and_counts():
    q = FrameQueue(3, "drop_oldest")
    for i in range(10):
        q.put(i)
    assert len(q) == 3
    assert q.dropped == 7
    assert [q.get() for _ in range(3)] == [7, 8, 9]
    assert q.high_water == 3


def test_end_marker_is_never_dropped_and_never_blocks_a_live_queue():
    q = FrameQueue(1, "drop_oldest")
    q.put(1)
    q.put(END)
    assert len(q) == 2
    assert q.get() == 1 and q.get() is END


def test_abort_wakes_blocked_get_and_put():
    abort = threading.Event()
    empty, full = FrameQueue(1, abort=abort), FrameQueue(1, abort=abort)
    full.put(0)
    errors = []

    def waiter(fn):
        try:
            fn()
        except Aborted:
            errors.append(fn)

    threads = [threading.Thread(target=waiter, args=(f,)) for f in (empty.get, lambda: full.put(1))]
    for t in threads:
        t.start()
    time.sleep(0.1)
    start = time.monotonic()
    abort.set()
    for t in threads:
        t.join(1)
    assert time.monotonic() - start < 0.5
    assert len(errors) == 2


def test_cut_drops_queued_items_refuses_new_ones_but_passes_end():
    q = FrameQueue(4)
    for i in range(3):
        q.put(i)
    assert q.cut() == 3
    assert q.put(99) == 99  # refused
    q.put(END)
    assert q.get() is END
    assert q.discarded_at_stop == 4 and q.dropped == 0


def test_cut_releases_a_producer_blocked_on_a_full_queue():
    q = FrameQueue(1)
    q.put(0)
    result = []
    t = threading.Thread(target=lambda: result.append(q.put(1)))
    t.start()
    time.sleep(0.1)
    q.cut()
    t.join(1)
    assert not t.is_alive()
    assert result == [1]  # the blocked item was refused, not queued
    assert len(q) == 0


def test_get_nowait_never_returns_the_end_marker():
    q = FrameQueue(3)
    assert q.get_nowait() is None
    q.put(5)
    q.put(END)
    assert q.get_nowait() == 5
    assert q.get_nowait() is None
    assert q.get() is END


def test_maxsize_must_be_positive():
    with pytest.raises(ValueError):
        FrameQueue(0)
