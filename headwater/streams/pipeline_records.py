"""The one place that encodes the pipeline's records and keys them for their topics.

Every record about a profile is keyed ``tenant:env:profile`` (core/tenancy.py
``profile_key``), so it lands on the partition of the profile's single writer; identity
claims are keyed ``tenant/env:identifier`` (``identity_key``), so one identity agent
decides every claim on an identifier. A :class:`Record` is ready for any producer:
the stages' ``Send`` (topic, key, value) or ``AckedProducer.send`` (topic, value, key).
"""

from __future__ import annotations

from typing import NamedTuple, cast

from headwater.core.records import (
    IdentityClaim,
    IntakeBatch,
    MergeRecord,
    OutboundRequest,
    ProcessedBatch,
    ProfileOp,
    ProfileSnapshot,
)
from headwater.core.tenancy import identity_key, profile_key
from headwater.schemas import (
    IDENTITY_CLAIM,
    INTAKE_BATCH,
    MERGE_RECORD,
    OUTBOUND_REQUEST,
    PROCESSED_BATCH,
    PROFILE_OP,
    PROFILE_SNAPSHOT,
)
from headwater.streams.codec import AvroCodec
from headwater.streams.topics import Topics

__all__ = ["PipelineRecords", "Record"]


class Record(NamedTuple):
    """One encoded record and where it goes."""

    topic: str
    key: bytes
    value: bytes


class PipelineRecords:
    """Encodes each kind of pipeline record and addresses it (topic and key)."""

    def __init__(self, codec: AvroCodec, topics: Topics) -> None:
        self._codec = codec
        self._topics = topics

    def intake(self, record: IntakeBatch) -> Record:
        """An intake batch for a profile (a forwarded or injected one)."""
        profile_id = record["profile_id"]
        assert profile_id is not None, "an intake batch sent by a stage is for a profile"
        key = profile_key(record["tenant"], record["env"], profile_id)
        return Record(self._topics.intake, key, self._codec.encode(INTAKE_BATCH, record))

    def processed(self, key: bytes, record: ProcessedBatch) -> Record:
        """A processed batch, keyed as the intake message it came from."""
        return Record(self._topics.events, key, self._codec.encode(PROCESSED_BATCH, record))

    def snapshot(self, key: bytes, record: ProfileSnapshot) -> Record:
        """A profile snapshot, keyed as the messages of the profile."""
        return Record(self._topics.profiles, key, self._codec.encode(PROFILE_SNAPSHOT, record))

    def op(self, record: ProfileOp) -> Record:
        """A profile operation, for the profile it names."""
        key = profile_key(record["tenant"], record["env"], record["profile_id"])
        return Record(self._topics.profile_ops, key, self._codec.encode(PROFILE_OP, record))

    def claim(self, record: IdentityClaim) -> Record:
        """An identity claim (or release), for the identifier's one decider."""
        key = identity_key(record["tenant"], record["env"], record["identifier"])
        return Record(self._topics.identity, key, self._codec.encode(IDENTITY_CLAIM, record))

    def merge(self, record: MergeRecord) -> Record:
        """A merge decision or refusal, keyed by the surviving profile."""
        key = profile_key(record["tenant"], record["env"], record["survivor"])
        return Record(self._topics.merges, key, self._codec.encode(MERGE_RECORD, record))

    def outbound(self, record: OutboundRequest) -> Record:
        """A side effect for the destinations agent, keyed by its profile (all of a
        profile's side effects are performed in order)."""
        key = profile_key(record["tenant"], record["env"], record["profile_id"] or "")
        return Record(self._topics.outbound, key, self._codec.encode(OUTBOUND_REQUEST, record))

    # --- reading: each topic's record, decoded by the topic's schema -------------------

    def read_intake(self, value: bytes) -> IntakeBatch:
        return cast(IntakeBatch, self._codec.decode(INTAKE_BATCH, value))

    def read_processed(self, value: bytes) -> ProcessedBatch:
        return cast(ProcessedBatch, self._codec.decode(PROCESSED_BATCH, value))

    def read_snapshot(self, value: bytes) -> ProfileSnapshot:
        return cast(ProfileSnapshot, self._codec.decode(PROFILE_SNAPSHOT, value))

    def read_op(self, value: bytes) -> ProfileOp:
        return cast(ProfileOp, self._codec.decode(PROFILE_OP, value))

    def read_claim(self, value: bytes) -> IdentityClaim:
        return cast(IdentityClaim, self._codec.decode(IDENTITY_CLAIM, value))

    def read_merge(self, value: bytes) -> MergeRecord:
        return cast(MergeRecord, self._codec.decode(MERGE_RECORD, value))
