"""Adapters to outside systems other than the event log: the search engines (``search/``),
the outbound transports (``outbound/``), stored secrets and the actions installed
packages declare (``plugins.py``). Each implements a port of ``headwater/core/ports/`` or
is used through a small function; the stages, the collector and the console use them."""
