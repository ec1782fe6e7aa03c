from headwater.adapters.search.writer import plan_chunks
from headwater.core.ports.search import BulkAction


def action(n: int, size: int) -> BulkAction:
    return BulkAction("i", f"d{n}", {"n": n}, size_hint=size)


def test_chunks_are_bounded_by_count():
    chunks = plan_chunks([action(n, 10) for n in range(7)], max_docs=3, max_bytes=10_000)

    assert [[a.id for a in c] for c in chunks] == [["d0", "d1", "d2"], ["d3", "d4", "d5"], ["d6"]]


def test_chunks_are_bounded_by_size():
    chunks = plan_chunks([action(n, 400) for n in range(5)], max_docs=100, max_bytes=1000)

    assert [len(c) for c in chunks] == [2, 2, 1]


def test_an_oversized_document_goes_alone_and_nothing_is_lost():
    actions = [action(0, 10), action(1, 5000), action(2, 10)]

    chunks = plan_chunks(actions, max_docs=100, max_bytes=1000)

    assert [[a.id for a in c] for c in chunks] == [["d0"], ["d1"], ["d2"]]
    assert plan_chunks([], max_docs=3, max_bytes=10) == []
