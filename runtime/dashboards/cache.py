"""The cache of widget results, and the change stamp that keeps it current.

An entry is keyed by (workspace, app, published revision, dashboard, widget, the viewer's
permission scope, today's date in the workspace zone) and holds the result together with
the **change stamp** it was computed at: for each entity the widget reads, the id of the
newest audit event of that entity (every record write — create, update, stage move,
delete — adds one in its own transaction, see :mod:`runtime.records`). A dashboard
request reads the stamps of all its widgets' entities in ONE indexed query
(``ix_audit_events_app_entity_id``: one index probe per entity) and serves an entry only
when its stamp is still the current one and its ``refresh.ttl`` has not run out. So a
write invalidates the results over its entity without the write path doing anything
more: no statement is added to record creation.

The permission scope is the viewer's role, plus the user (id and the attributes ``me()``
shows) when the role's row condition on a read entity is not ``true`` or the widget's
expressions use ``me()``: viewers whose results may differ never share an entry.

Backends: Redis when the deployment has one (``REDIS_URL``; entries shared by every web
process and expiring by TTL), else a bounded in-process LRU.

Known limit: audit ids are handed out before commit, so a write that commits *after* a
later-numbered one (concurrent transactions) may leave a result computed between the two
commits cached until its TTL ends.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

#: In-process entries kept at most (results are small: a widget is ≤ 500 rows).
MEMORY_ENTRIES = 2_000


class ResultCache:
    """Where widget results are kept (see the module docstring)."""

    def get(self, key: str) -> dict[str, Any] | None:  # pragma: no cover - interface
        """The entry under ``key`` (``{"stamp", "result"}``), or None."""
        raise NotImplementedError

    def put(self, key: str, entry: dict[str, Any], ttl: int) -> None:  # pragma: no cover - interface
        """Keeps ``entry`` under ``key`` for ``ttl`` seconds."""
        raise NotImplementedError

    def clear(self) -> None:  # pragma: no cover - interface
        """Forgets every entry (tests)."""
        raise NotImplementedError


class MemoryCache(ResultCache):
    """A bounded in-process LRU with per-entry expiry."""

    def __init__(self, size: int = MEMORY_ENTRIES, clock: Callable[[], float] = time.monotonic) -> None:
        self.size, self.clock = size, clock
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if found[0] <= self.clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
        loaded: dict[str, Any] = json.loads(found[1])  # a copy: callers may change it
        return loaded

    def put(self, key: str, entry: dict[str, Any], ttl: int) -> None:
        text = json.dumps(entry, default=str)
        with self._lock:
            self._entries[key] = (self.clock() + ttl, text)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class RedisCache(ResultCache):
    """Entries in Redis (``SET … EX ttl``), shared by every process of the deployment."""

    def __init__(self, url: str, prefix: str = "cairn:dash:") -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self.prefix = prefix

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            raw = self.client.get(self.prefix + key)
        except Exception:  # a cache outage must not take dashboards down: compute instead
            return None
        if raw is None:
            return None
        loaded: dict[str, Any] = json.loads(raw)
        return loaded

    def put(self, key: str, entry: dict[str, Any], ttl: int) -> None:
        try:
            self.client.set(self.prefix + key, json.dumps(entry, default=str), ex=max(1, ttl))
        except Exception:  # pragma: no cover - see get
            return

    def clear(self) -> None:
        try:
            for key in self.client.scan_iter(self.prefix + "*"):
                self.client.delete(key)
        except Exception:  # pragma: no cover - see get
            return


_SHARED: dict[str | None, ResultCache] = {}
_SHARED_LOCK = threading.Lock()


def shared_cache(redis_url: str | None = None) -> ResultCache:
    """The process's cache: Redis at ``redis_url`` when given, else in-process."""
    with _SHARED_LOCK:
        found = _SHARED.get(redis_url)
        if found is None:
            found = _SHARED[redis_url] = RedisCache(redis_url) if redis_url else MemoryCache()
        return found
