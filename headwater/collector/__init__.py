"""The public collector: collection and health routes, nothing else."""

from fastapi import FastAPI

from headwater.collector.app import create_app
from headwater.settings import load_settings

__all__ = ["app_from_env", "create_app"]


def app_from_env() -> FastAPI:
    """App factory for process managers (``uvicorn --factory``, several workers)."""
    return create_app(load_settings())
