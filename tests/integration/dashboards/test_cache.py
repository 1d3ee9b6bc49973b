"""Cached widget results: served again, invalidated by writes, never shared across scopes."""

from __future__ import annotations

from decimal import Decimal

from runtime.dashboards import MemoryCache, RedisCache
from tests.integration.dashboards.conftest import World


def count(result: dict) -> int:
    return int(result["total"]["values"]["n"])


def test_second_call_is_cached_and_a_write_invalidates_it(fresh_world: World) -> None:
    world = fresh_world
    service = world.dashboards(world.manager, cache=True)
    first = service.widget("board", "total")
    second = service.widget("board", "total")
    assert first["cached"] is False and second["cached"] is True
    assert count(second) == count(first) == 10
    assert service.widget("board", "total", fresh=True)["cached"] is False
    # a write to an entity the widget does not read leaves it cached
    world.records().create("note", {"body": "hello"})
    assert service.widget("board", "total")["cached"] is True
    # a write to the source entity invalidates it
    world.records().create("opportunity", {"title": "new", "amount": Decimal("5")})
    third = service.widget("board", "total")
    assert third["cached"] is False and count(third) == 11
    assert service.widget("board", "total")["cached"] is True
    # so does a write to a linked entity (filters and link dimensions read it)
    world.records().update("customer", world.customers["Alpha"], {"region": "west"}, version=1)
    after = service.widget("board", "region_stage")
    assert after["cached"] is False


def test_updates_and_deletes_invalidate(fresh_world: World) -> None:
    world = fresh_world
    service = world.dashboards(cache=True)
    before = service.widget("board", "by_stage")
    assert service.widget("board", "by_stage")["cached"] is True
    record = world.records().get("opportunity", world.opportunities[3])
    world.records().move_stage("opportunity", record["id"], "closing", version=record["version"])
    moved = service.widget("board", "by_stage")
    assert moved["cached"] is False and moved != before
    record = world.records().get("opportunity", world.opportunities[4])
    world.records().delete("opportunity", record["id"], version=record["version"])
    assert service.widget("board", "total")["cached"] is False
    assert count(service.widget("board", "total")) == 9


def test_permission_scopes_never_share_an_entry(fresh_world: World) -> None:
    world = fresh_world
    ann, bob = world.reps["ann"], world.reps["bob"]
    world.records().create("opportunity", {"title": "bob's", "owner": bob.id})
    assert world.dashboards(ann, cache=True).widget("board", "total")["cached"] is False
    assert world.dashboards(ann, cache=True).widget("board", "total")["cached"] is True
    bobs = world.dashboards(bob, cache=True).widget("board", "total")
    assert bobs["cached"] is False and count(bobs) == 6
    assert count(world.dashboards(ann, cache=True).widget("board", "total")) == 5
    managers = world.dashboards(world.manager, cache=True).widget("board", "total")
    admins = world.dashboards(world.admin, cache=True).widget("board", "total")
    assert managers["cached"] is False and admins["cached"] is False
    assert count(managers) == count(admins) == 11


def test_ttl(fresh_world: World) -> None:
    world = fresh_world
    now = [1000.0]
    world.cache = MemoryCache(clock=lambda: now[0])
    service = world.dashboards(cache=True)
    service.widget("board", "total")
    now[0] += 59
    assert service.widget("board", "total")["cached"] is True
    now[0] += 2  # the default ttl is 60 s
    assert service.widget("board", "total")["cached"] is False


def test_redis_backend(fresh_world: World, redis_url: str) -> None:
    world = fresh_world
    world.cache = RedisCache(redis_url, prefix=f"test:dash:{id(world)}:")
    try:
        service = world.dashboards(cache=True)
        assert service.widget("board", "region_stage")["cached"] is False
        again = service.widget("board", "region_stage")
        assert again["cached"] is True and again["rows"]
        world.records().create("opportunity", {"title": "x"})
        assert service.widget("board", "region_stage")["cached"] is False
    finally:
        world.cache.clear()
