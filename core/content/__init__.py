"""Package content: fetch a package's files into the cache, verified, resumable, bounded.

`ContentStore.fetch()` makes `<cache>/<ID>.<version>/` hold every file of a package,
each checked against the catalog's size and SHA-256, and returns that folder. The
package is split along its seams:

    policy     where to fetch from and how patiently: RetryPolicy, parse_retry_after,
               ordered_locations, cache_key, location_url (no I/O)
    records    what the cache keeps on disk about a package (the package record), when
               a cached file is trusted without hashing, where a file may be written
    transfer   one attempt at one file: the request, the response checks, the `.part`,
               the writer thread, progress
    store      ContentStore: the cache, eviction, and the fetch that drives attempts
               across files, locations and retries
    throttle   Throttle: one rate limit shared by background downloads

This module keeps `import core.content` and its public names as they were.
"""

from .policy import RetryPolicy, cache_key, ordered_locations, parse_retry_after
from .store import ContentStore
from .throttle import Throttle

__all__ = [
    "ContentStore",
    "RetryPolicy",
    "Throttle",
    "cache_key",
    "ordered_locations",
    "parse_retry_after",
]
