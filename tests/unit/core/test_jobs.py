"""Jobs as records on the jobs topic, folded back into each job's state."""

from __future__ import annotations

import pytest

from headwater.core.jobs import JobBook, job_partition, job_record, new_job
from headwater.schemas import JOB_RECORD
from headwater.streams.codec import AvroCodec

CODEC = AvroCodec.default()


def _through_topic(job, *, cancel=False):
    key, record = job_record(job, cancel=cancel)
    return key.decode(), CODEC.decode(JOB_RECORD, CODEC.encode(JOB_RECORD, record))


def test_a_job_survives_its_record():
    job = new_job("replay", {"tenant": "t1"}, requested_by="user:1", tenant="t1", env="staging")
    job = job.update(state="running", done=5, total=9, checkpoint={"at": 3}, counts={"ok": 5})
    job = job.with_error("line 4: no type")
    book = JobBook()

    book.apply(*_through_topic(job))

    got = book.get(job.id)
    assert got is not None
    assert (got.state, got.done, got.total, got.checkpoint) == ("running", 5, 9, {"at": 3})
    assert got.counts == {"ok": 5, "errors": 1}
    assert got.errors == ("line 4: no type",)
    assert abs((got.requested_at - job.requested_at).total_seconds()) < 0.001  # ms on the wire


def test_a_cancel_read_before_the_latest_state_still_counts():
    # compaction keeps the cancel record and the job's latest state, in that order
    job = new_job("replay", {}, requested_by="cli")
    book = JobBook()
    book.apply(*_through_topic(job, cancel=True))
    assert book.get(job.id) is None

    book.apply(*_through_topic(job.update(state="running", done=1)))

    got = book.get(job.id)
    assert got is not None and got.cancel_requested and got.state == "running"


def test_a_tombstone_forgets_the_job():
    job = new_job("migration", {}, requested_by="cli")
    book = JobBook()
    book.apply(*_through_topic(job))

    book.apply(job.id, None)

    assert book.get(job.id) is None and book.jobs() == []


def test_a_job_and_its_cancel_share_a_partition():
    ids = [new_job("replay", {}, requested_by="x").id for _ in range(50)]

    assert {job_partition(i, 6) for i in ids} == set(range(6))  # spread over all
    assert all(job_partition(i, 6) == job_partition(i, 6) for i in ids)


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="no job kind 'nope'"):
        new_job("nope", {}, requested_by="x")
