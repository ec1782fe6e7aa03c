"""The Elasticsearch and OpenSearch adapters behind the search port
(:class:`headwater.core.ports.search.SearchStore`), and what provisions indices."""

from headwater.adapters.search.factory import connect_search, detect_engine

__all__ = ["connect_search", "detect_engine"]
