"""Avro encoding of the hot-path records: fastavro's writer against the compiled writer
the codec uses (headwater/streams/avro_writer.py), on the collector's own intake batches.

    python -m bench.codec [--rounds 5]

Prints microseconds per record (best of the rounds, in-process, no I/O), then one JSON line.
"""

from __future__ import annotations

import argparse
import timeit
from io import BytesIO

from fastavro import schemaless_writer

from bench._harness import print_json
from bench.collector import track_body
from headwater.core.intake import (
    IntakeLimits,
    RequestMeta,
    build_tracker_batch,
    parse_tracker_payload,
)
from headwater.core.records import IntakeBatch
from headwater.core.sources import EventSource
from headwater.schemas import INTAKE_BATCH, schema_family
from headwater.streams.codec import AvroCodec

NUMBER = 2000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    codec = AvroCodec.default()
    schema = schema_family(INTAKE_BATCH)[-1].parsed
    source = EventSource(id="bench", tenant="bench", env="production")
    limits = IntakeLimits(max_event_bytes=1 << 20, max_request_bytes=1 << 22)
    meta = RequestMeta(received_at=1_765_000_000_000, ip="203.0.113.7", user_agent="bench")
    figures: dict[str, dict[str, float]] = {}
    for events in (1, 20):
        payload = parse_tracker_payload(track_body(source.id, events))
        record = build_tracker_batch(payload, source, meta, limits).record

        def fastavro_way(record: IntakeBatch = record) -> None:
            schemaless_writer(BytesIO(), schema, record)

        def compiled_way(record: IntakeBatch = record) -> None:
            codec.encode(INTAKE_BATCH, record)

        row = {}
        for name, run in (("fastavro", fastavro_way), ("compiled", compiled_way)):
            best = min(timeit.repeat(run, number=NUMBER, repeat=args.rounds))
            row[name] = round(best / NUMBER * 1e6, 2)
        figures[f"intake_batch_{events}"] = row
        print(
            f"intake batch, {events:>2} events: fastavro {row['fastavro']:6.2f} us, "
            f"compiled {row['compiled']:6.2f} us ({row['fastavro'] / row['compiled']:.2f}x)"
        )
    print_json({"benchmark": "codec", **figures})


if __name__ == "__main__":
    main()
