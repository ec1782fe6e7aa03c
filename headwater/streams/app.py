"""Faust app factory. Faust is imported here, lazily, never at package import."""

from __future__ import annotations

from typing import Any

from headwater.settings import Settings

__all__ = ["create_faust_app"]


def create_faust_app(settings: Settings) -> Any:
    """A Faust app tuned so joins, leaves and crashes are absorbed in seconds.

    The defaults (60 s session timeout) make a new worker wait ~30 s before it gets
    partitions on a cold group; see docs/operations.md for the measured figures.
    """
    import faust

    from headwater.streams.store import MEMORY_SCHEME, STORE_SCHEME, claim_state_dir, register

    register()
    datadir = claim_state_dir(settings.data_dir / "worker" / settings.worker_id)
    brokers = ";".join(f"kafka://{server.strip()}" for server in settings.kafka_servers.split(","))
    credentials: Any = None
    if settings.kafka_security_protocol != "PLAINTEXT":
        from headwater.streams.kafka import kafka_client_options

        options = kafka_client_options(settings)
        if settings.kafka_security_protocol.startswith("SASL"):
            credentials = faust.SASLCredentials(
                username=options["sasl_plain_username"],
                password=options["sasl_plain_password"],
                mechanism=options["sasl_mechanism"],
                ssl_context=options.get("ssl_context"),
            )
        else:
            credentials = faust.SSLCredentials(options["ssl_context"])
    return faust.App(
        settings.worker_id,
        broker=brokers,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=False,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.broker_session_timeout,
        broker_heartbeat_interval=settings.broker_heartbeat_interval,
        broker_rebalance_timeout=settings.broker_rebalance_timeout,
        producer_acks=-1,
        datadir=str(datadir),
        store=f"{STORE_SCHEME if settings.worker_store == 'rocksdb' else MEMORY_SCHEME}://",
        broker_credentials=credentials,
    )
