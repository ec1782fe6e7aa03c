"""What topics exist and how each is configured, and changing a topic's configuration:
what ``headwater migrate`` compares with what this release creates (``Topics.specs``)."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from headwater.errors import BrokerUnavailable
from headwater.settings import Settings
from headwater.streams.kafka import kafka_client_options

__all__ = ["existing_topics", "set_topic_configs", "topic_configs"]

_SET_ON_TOPIC = 1  # DescribeConfigs config_source: DYNAMIC_TOPIC_CONFIG


async def _admin(settings: Settings) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(**kafka_client_options(settings), client_id="headwater-migrate")
    await admin.start()
    return admin


async def existing_topics(settings: Settings) -> set[str]:
    admin = await _admin(settings)
    try:
        return set(await admin.list_topics())
    except KafkaError as exc:
        raise BrokerUnavailable(f"could not list topics: {exc!r}") from exc
    finally:
        await admin.close()


async def topic_configs(settings: Settings, names: list[str]) -> dict[str, dict[str, str]]:
    """The configuration set on each topic (not the broker's defaults it inherits)."""
    if not names:
        return {}
    admin = await _admin(settings)
    found: dict[str, dict[str, str]] = {}
    try:
        resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        for response in await admin.describe_configs(resources):
            for error, message, _, name, entries in response.resources:
                if error:
                    raise BrokerUnavailable(f"could not describe topic {name}: {error} {message}")
                found[name] = {e[0]: e[1] for e in entries if e[3] == _SET_ON_TOPIC}
    except KafkaError as exc:
        raise BrokerUnavailable(f"could not describe topics: {exc!r}") from exc
    finally:
        await admin.close()
    return found


async def set_topic_configs(settings: Settings, name: str, wanted: dict[str, str]) -> None:
    """Set ``wanted`` on a topic, keeping what else is set on it (AlterConfigs replaces
    the whole set, so the current one is read first and merged)."""
    current = (await topic_configs(settings, [name])).get(name, {})
    admin = await _admin(settings)
    try:
        resource = ConfigResource(ConfigResourceType.TOPIC, name, configs={**current, **wanted})
        for response in await admin.alter_configs([resource]):
            for error, message, _, topic in response.resources:
                if error:
                    raise BrokerUnavailable(f"could not configure {topic}: {error} {message}")
    except KafkaError as exc:
        raise BrokerUnavailable(f"could not configure topic {name}: {exc!r}") from exc
    finally:
        await admin.close()
