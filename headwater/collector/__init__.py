"""The public collector: collection and health routes, nothing else."""

from headwater.collector.app import create_app

__all__ = ["create_app"]
