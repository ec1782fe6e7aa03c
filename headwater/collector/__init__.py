"""The public collector: collection and health routes, nothing else."""

from fastapi import FastAPI

from headwater.collector.app import create_app
from headwater.settings import load_settings

__all__ = ["app_from_env", "create_app"]


def app_from_env() -> FastAPI:
    """App factory for process managers (``uvicorn --factory``, several workers): each
    process sets up its logging and metrics (multi-process samples: the parent's
    directory, inherited through the environment) and builds its app."""
    from headwater.observability.logs import configure_logging
    from headwater.observability.metrics import set_service

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    set_service("collector")
    return create_app(settings)
