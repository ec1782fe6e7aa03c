"""Topic names and how each topic is created."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TopicSpec", "Topics"]


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    configs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Topics:
    """Every topic Headwater uses, named from one prefix (``hw`` by default)."""

    prefix: str = "hw"

    @property
    def intake(self) -> str:
        """Accepted intake batches, keyed ``tenant:profile``."""
        return f"{self.prefix}.intake"

    @property
    def events(self) -> str:
        """Processed batches from the profile agent, keyed ``tenant:profile``."""
        return f"{self.prefix}.events"

    @property
    def profiles(self) -> str:
        """Profile snapshots, compacted, keyed ``tenant:profile``."""
        return f"{self.prefix}.profiles"

    @property
    def profile_ops(self) -> str:
        """Operations on profiles (merges), keyed ``tenant:profile`` like intake."""
        return f"{self.prefix}.profile.ops"

    @property
    def identity(self) -> str:
        """Identity claims, keyed ``tenant/env:identifier``."""
        return f"{self.prefix}.identity"

    @property
    def merges(self) -> str:
        """Merge decisions and refusals of the identity agent."""
        return f"{self.prefix}.merges"

    @property
    def outbound(self) -> str:
        """Side effects workflows asked for, performed by the destinations agent."""
        return f"{self.prefix}.outbound"

    @property
    def config(self) -> str:
        """Configuration entities, compacted, one partition so readers see one order."""
        return f"{self.prefix}.config"

    @property
    def config_history(self) -> str:
        """Every configuration change ever published, never compacted: what a replay
        reads to run flows as they were at each event's time."""
        return f"{self.prefix}.config.history"

    @property
    def deadletter(self) -> str:
        """Messages a stage gave up on, with the reason."""
        return f"{self.prefix}.deadletter"

    @property
    def jobs(self) -> str:
        """Jobs asked for and their progress, compacted, keyed by job id (core/jobs.py)."""
        return f"{self.prefix}.jobs"

    @property
    def profile_rebuild(self) -> str:
        """A replay's rebuilt profile states per table partition, and the live profile
        stages' answers (agents/profile_rebuild.py)."""
        return f"{self.prefix}.profile.rebuild"

    @property
    def consumed(self) -> list[str]:
        """The topics the worker's agents read (headwater/agents/worker.py)."""
        return [
            self.intake,
            self.profile_ops,
            self.identity,
            self.events,
            self.profiles,
            self.merges,
            self.outbound,
        ]

    def specs(self, partitions: int) -> list[TopicSpec]:
        return [
            TopicSpec(self.intake, partitions),
            TopicSpec(self.events, partitions),
            TopicSpec(self.profile_ops, partitions),
            TopicSpec(self.identity, partitions),
            TopicSpec(self.merges, partitions),
            TopicSpec(self.outbound, partitions),
            TopicSpec(self.profiles, partitions, {"cleanup.policy": "compact"}),
            TopicSpec(self.config, 1, {"cleanup.policy": "compact"}),
            TopicSpec(self.config_history, 1, {"cleanup.policy": "delete", "retention.ms": "-1"}),
            TopicSpec(self.deadletter, partitions),
            TopicSpec(self.jobs, partitions, {"cleanup.policy": "compact"}),
            TopicSpec(self.profile_rebuild, partitions, {"retention.ms": str(7 * 86_400_000)}),
        ]
