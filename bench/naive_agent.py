"""The naive design for bench/pipeline.py: a plain Faust agent, one table update per event.

    python -m bench.naive_agent      (configured by HEADWATER_* like the worker)

Reads the intake topic of HEADWATER_TOPIC_PREFIX, decodes each intake batch and, for
every event in it, does a read-modify-write of a per-profile counter in a Faust table
(so one changelog record per event). The app id is HEADWATER_WORKER_ID and the app is
built by Headwater's own factory, so broker timeouts, acks and serializers match the
worker; only the agent differs.
"""

from __future__ import annotations

from typing import Any

TABLE = "counts"


def changelog_topic(app_id: str) -> str:
    """The topic Faust writes the counter table's changes to."""
    return f"{app_id}-{TABLE}-changelog"


def build_app() -> Any:
    import faust

    from headwater.schemas import INTAKE_BATCH
    from headwater.settings import load_settings
    from headwater.streams.app import create_faust_app
    from headwater.streams.codec import AvroCodec
    from headwater.streams.topics import Topics

    settings = load_settings()
    app = create_faust_app(settings)
    codec = AvroCodec.default()
    intake = app.topic(
        Topics(settings.topic_prefix).intake, key_serializer="raw", value_serializer="raw"
    )
    counts = app.Table(
        TABLE,
        default=int,
        partitions=settings.partitions,
        schema=faust.Schema(
            key_type=bytes,
            value_type=int,  # type: ignore[arg-type]  # JSON ints; faust's hints omit int
            key_serializer="raw",
            value_serializer="json",
        ),
    )

    @app.agent(intake, name="naive")  # type: ignore[untyped-decorator]
    async def naive(stream: Any) -> None:
        async for event in stream.events():
            batch = codec.decode(INTAKE_BATCH, event.value)
            key = event.key
            for _ in batch["events"]:
                counts[key] = counts[key] + 1

    return app


def main() -> None:  # faust is imported here so bench.pipeline can import this module cheaply
    import faust

    from headwater.settings import load_settings

    settings = load_settings()
    worker = faust.Worker(build_app(), loglevel=settings.log_level.upper(), quiet=True)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
