"""The private API (``headwater api``): users, roles, tenants, configuration and data."""

from headwater.console.app import PUBLIC_ROUTES, create_app

__all__ = ["PUBLIC_ROUTES", "create_app"]
