"""Avro single-object encoding with writer-schema resolution by fingerprint.

Every message is ``C3 01`` + the 8-byte little-endian CRC-64-AVRO fingerprint of the
writer's schema + the Avro binary body. A reader looks the fingerprint up among every
known version of the record's schema and resolves it to the current version, so
writers and readers can be upgraded independently.
"""

from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any

from fastavro import schemaless_reader

from headwater.errors import SchemaError, UnknownSchema
from headwater.schemas import SchemaVersion, schema_family, schema_names
from headwater.streams.avro_writer import Write, compile_writer

__all__ = ["MAGIC", "AvroCodec"]

MAGIC = b"\xc3\x01"
_HEADER = len(MAGIC) + 8


class AvroCodec:
    """Encodes and decodes the records named in ``headwater/schemas``."""

    def __init__(self, families: dict[str, tuple[SchemaVersion, ...]]) -> None:
        self._current = {name: versions[-1] for name, versions in families.items()}
        # writing goes through compiled writers (streams/avro_writer.py), reading fastavro
        self._writers: dict[str, tuple[bytes, Write]] = {
            name: (MAGIC + current.fingerprint, compile_writer(current.raw))
            for name, current in self._current.items()
        }
        self._by_fingerprint: dict[bytes, SchemaVersion] = {}
        for versions in families.values():
            for version in versions:
                self._by_fingerprint[version.fingerprint] = version

    @classmethod
    def default(cls) -> AvroCodec:
        return cls({name: schema_family(name) for name in schema_names()})

    def encode(self, name: str, record: Mapping[str, Any]) -> bytes:
        header, write = self._writers[name]
        out = [header]
        try:
            write(record, out)
            return b"".join(out)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            raise SchemaError(f"record does not fit schema {name!r}: {exc!r}") from exc

    def name_of(self, data: bytes) -> str | None:
        """The record name of a message this codec can decode, else None."""
        if len(data) < _HEADER or data[:2] != MAGIC:
            return None
        writer = self._by_fingerprint.get(data[2:_HEADER])
        return None if writer is None else writer.name

    def decode(self, name: str, data: bytes) -> dict[str, Any]:
        if len(data) < _HEADER or data[:2] != MAGIC:
            raise SchemaError(f"not an Avro single-object message ({len(data)} bytes)")
        fp = data[2:_HEADER]
        writer = self._by_fingerprint.get(fp)
        if writer is None:
            raise UnknownSchema(f"unknown writer schema fingerprint {fp.hex()} for {name!r}")
        if writer.name != name:
            raise SchemaError(f"message holds a {writer.name!r} record, expected {name!r}")
        reader = self._current[name]
        body = BytesIO(data[_HEADER:])
        try:
            if writer is reader:
                record = schemaless_reader(body, writer.parsed, None)
            else:
                record = schemaless_reader(body, writer.parsed, reader.parsed)
        except Exception as exc:  # fastavro raises bare errors on corrupt bodies
            raise SchemaError(f"corrupt {name!r} message: {exc}") from exc
        if not isinstance(record, dict):
            raise SchemaError(f"{name!r} message did not decode to a record")
        return record
