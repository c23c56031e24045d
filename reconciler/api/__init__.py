"""The API client: auth, retries with Retry-After, pagination, error mapping, bounded parallelism."""

from reconciler.api.client import ApiClient, ClientStats
from reconciler.api.parallel import map_bounded
from reconciler.api.retry import RetryInfo, RetryPolicy

__all__ = ["ApiClient", "ClientStats", "RetryInfo", "RetryPolicy", "map_bounded"]
