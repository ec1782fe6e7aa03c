"""Token buckets per source: bursts, refill, Retry-After, overrides."""

from __future__ import annotations

from headwater.core.ratelimit import SourceRateLimiter, TokenBucket
from headwater.core.sources import RateLimit

DEFAULT = RateLimit(events_per_second=10, burst=20)


def test_bucket_grants_its_burst_then_says_how_long_to_wait():
    bucket = TokenBucket(rate=10, burst=20, tokens=20, updated=0.0)

    assert bucket.take(15, now=0.0) == 0
    assert bucket.take(5, now=0.0) == 0
    assert bucket.take(5, now=0.0) == 0.5  # 5 tokens at 10/s
    assert bucket.take(5, now=0.5) == 0  # refilled meanwhile


def test_bucket_never_holds_more_than_its_burst():
    bucket = TokenBucket(rate=10, burst=20, tokens=0, updated=0.0)

    assert bucket.take(20, now=1000.0) == 0
    assert bucket.take(1, now=1000.0) == 0.1


def test_request_bigger_than_the_burst_waits_for_a_full_bucket():
    bucket = TokenBucket(rate=10, burst=20, tokens=0, updated=0.0)

    assert bucket.take(500, now=0.0) == 2.0
    assert bucket.take(500, now=2.0) == 0


def test_limiter_answers_whole_seconds_per_source(make_source):
    limiter = SourceRateLimiter(DEFAULT)
    web, app = make_source(id="web"), make_source(id="app")

    assert limiter.take(web, 20, now=0.0) == 0
    assert limiter.take(web, 1, now=0.0) == 1  # 0.1 s rounds up: never tell a client 0
    assert limiter.take(web, 11, now=0.0) == 2
    assert limiter.take(app, 20, now=0.0) == 0  # its own bucket
    assert limiter.take(web, 0, now=0.0) == 1  # an empty request still costs one


def test_a_sources_own_limit_overrides_the_default_and_follows_changes(make_source):
    limiter = SourceRateLimiter(DEFAULT)
    strict = make_source(rate_limit={"events_per_second": 1, "burst": 2})

    assert limiter.take(strict, 2, now=0.0) == 0
    assert limiter.take(strict, 1, now=0.0) == 1
    relaxed = make_source(rate_limit={"events_per_second": 100, "burst": 200})
    assert limiter.take(relaxed, 1, now=0.5) == 0  # same source, new config: faster refill
