"""Reading import files: NDJSON (Headwater events, Segment calls) and CSV, gzip or not
(told by the magic bytes, not the name). Each record is an :class:`Item` whose cursor is
its line; a resumed import passes over the lines up to its checkpoint."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

import orjson

from headwater.core.imports import (
    CsvMapping,
    ImportTarget,
    csv_row_batches,
    headwater_line_batches,
    segment_line_batches,
)
from headwater.core.intake import Accepted
from headwater.errors import ConfigurationError, InvalidInput, MalformedInput, PayloadTooLarge

__all__ = ["FORMATS", "FileReader", "FileSpec", "Item"]

FileFormat = Literal["headwater", "segment", "csv"]
FORMATS: tuple[FileFormat, ...] = ("headwater", "segment", "csv")
_GZIP = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class Item:
    """One record of a source: where it is (for people), its cursor (for the
    checkpoint), how to make its intake batches, and its text (for the reject file)."""

    where: str
    cursor: dict[str, Any]
    build: Callable[[ImportTarget], list[Accepted]]
    text: str | None = None


@dataclass(frozen=True, slots=True)
class FileSpec:
    """A file to import: its path, format and, for CSV, the column mapping."""

    path: Path
    format: FileFormat
    mapping: CsvMapping | None = None

    def describe(self) -> dict[str, Any]:
        return {"path": str(self.path), "format": self.format}


def _open(path: Path) -> BinaryIO:
    with path.open("rb") as raw:
        compressed = raw.read(2) == _GZIP
    return cast(BinaryIO, gzip.open(path, "rb")) if compressed else path.open("rb")


class FileReader:
    def __init__(self, spec: FileSpec, max_record_bytes: int) -> None:
        if spec.format == "csv" and spec.mapping is None:
            raise ConfigurationError("a CSV import needs a column mapping")
        if not spec.path.is_file():
            raise ConfigurationError(f"no such file: {spec.path}")
        self.spec = spec
        self.kind = f"file-{spec.format}"
        self._max = max_record_bytes

    async def identity(self) -> str:
        """The file's content (SHA-256 of its bytes) and, for CSV, its mapping: the same
        data imported again is the same import, wherever the file lies."""
        digest = hashlib.sha256()
        with self.spec.path.open("rb") as raw:
            while chunk := raw.read(1 << 20):
                digest.update(chunk)
        mapping = self.spec.mapping.identity_text() if self.spec.mapping else ""
        return f"{digest.hexdigest()}/{mapping}"

    async def items(self, cursor: dict[str, Any] | None) -> AsyncIterator[Item]:
        after = int(cursor["line"]) if cursor else 0
        lines = self._csv() if self.spec.format == "csv" else self._ndjson()
        for item in lines:
            if item.cursor["line"] > after:
                yield item

    def _ndjson(self) -> Iterator[Item]:
        parse = headwater_line_batches if self.spec.format == "headwater" else segment_line_batches
        with _open(self.spec.path) as stream:
            for number, raw in enumerate(stream, start=1):
                if not raw.strip():
                    continue
                yield Item(
                    f"line {number}",
                    {"line": number},
                    _ndjson_builder(raw, number, parse, self._max),
                    _text(raw),
                )

    def _csv(self) -> Iterator[Item]:
        mapping = self.spec.mapping
        assert mapping is not None
        with _open(self.spec.path) as stream:
            text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
            rows = csv.DictReader(text)
            if rows.fieldnames is None:
                return
            missing = mapping.named_columns() - set(rows.fieldnames)
            if missing:
                raise ConfigurationError(
                    f"the CSV header has no column {', '.join(sorted(missing))}"
                )
            for row in rows:
                number = rows.line_num
                yield Item(
                    f"line {number}",
                    {"line": number},
                    _csv_builder(row, number, mapping),
                    _row_text(row),
                )


def _text(raw: bytes) -> str:
    return raw[:2048].decode("utf-8", errors="replace").rstrip("\n")


def _row_text(row: dict[str | None, Any]) -> str:
    return orjson.dumps({str(k): v for k, v in row.items()}).decode()


def _ndjson_builder(
    raw: bytes, number: int, parse: Callable[[Any, ImportTarget, str], list[Accepted]], limit: int
) -> Callable[[ImportTarget], list[Accepted]]:
    def build(target: ImportTarget) -> list[Accepted]:
        if len(raw) > limit:
            raise PayloadTooLarge(f"the line is {len(raw)} bytes, over the {limit}-byte limit")
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise MalformedInput(f"invalid JSON: {exc}") from None
        return parse(data, target, f"line/{number}")

    return build


def _csv_builder(
    row: dict[str | None, Any], number: int, mapping: CsvMapping
) -> Callable[[ImportTarget], list[Accepted]]:
    def build(target: ImportTarget) -> list[Accepted]:
        if any(isinstance(value, list) for value in row.values()):
            raise InvalidInput("the row has more cells than the header has columns")
        return csv_row_batches(row, mapping, target, f"line/{number}")  # type: ignore[arg-type]

    return build
