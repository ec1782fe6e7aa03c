"""The search-engine port and its Elasticsearch and OpenSearch adapters."""

from headwater.infra.search.factory import connect_search, detect_engine
from headwater.infra.search.port import BulkAction, BulkOutcome, SearchStore

__all__ = ["BulkAction", "BulkOutcome", "SearchStore", "connect_search", "detect_engine"]
