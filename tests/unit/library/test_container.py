"""PerContainer: built once on first use whatever the threads, then the heap is frozen out of
the cyclic GC; reset() closes the value and the next use builds a new one."""

import gc
import threading

from featurestream.aws.container import PerContainer


def test_built_once_by_the_first_of_many_threads_then_the_heap_is_frozen():
    built: list[object] = []
    start = threading.Barrier(8)

    def build() -> object:
        value = object()
        built.append(value)
        return value

    state = PerContainer(build)
    gc.unfreeze()
    seen: list[object] = []

    def use() -> None:
        start.wait()
        seen.append(state.get())

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    try:
        assert len(built) == 1
        assert seen == built * 8
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_reset_closes_the_value_and_the_next_use_builds_anew():
    closed: list[int] = []
    counter = iter(range(1, 10))
    state = PerContainer(lambda: next(counter), close=closed.append)
    try:
        assert state.get() == 1
        assert state.get() == 1
        state.reset()
        assert closed == [1]
        assert state.get() == 2
        state.reset()
        state.reset()  # nothing built: nothing to close
        assert closed == [1, 2]
    finally:
        gc.unfreeze()
