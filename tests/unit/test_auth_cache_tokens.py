"""The cache of verified tokens on its own: bounded, oldest out first, expiry checked on every hit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from litestar.security.jwt import Token

from service.auth import AuthUser, VerifiedToken, VerifiedTokenCache


def _verified(expires_at: float, user_id: int = 1) -> VerifiedToken:
    now = datetime.now(UTC)
    token = Token(exp=now + timedelta(hours=1), sub=str(user_id), iat=now)
    return VerifiedToken(
        user=AuthUser(id=user_id, username=f"u{user_id}", role="officer"),
        token=token,
        expires_at=expires_at,
        token_version=1,
    )


def test_a_hit_before_expiry_and_none_from_then_on():
    cache = VerifiedTokenCache()
    cache.put("t", _verified(expires_at=100.0))
    assert cache.get("t", 99.9) is not None
    assert cache.get("t", 100.0) is None  # valid while now < exp, as PyJWT decides
    assert len(cache) == 0  # an expired entry is dropped when met
    assert cache.get("t", 50.0) is None


def test_bounded_the_oldest_goes_first():
    cache = VerifiedTokenCache(max_entries=3)
    for i in range(5):
        cache.put(f"t{i}", _verified(expires_at=1e12, user_id=i))
    assert len(cache) == 3
    assert [cache.get(f"t{i}", 0.0) is not None for i in range(5)] == [False, False, True, True, True]


def test_putting_a_known_token_again_evicts_nothing():
    cache = VerifiedTokenCache(max_entries=2)
    cache.put("a", _verified(1e12))
    cache.put("b", _verified(1e12))
    cache.put("a", _verified(1e12))
    assert cache.get("a", 0.0) is not None and cache.get("b", 0.0) is not None


def test_discard_and_size_check():
    cache = VerifiedTokenCache(max_entries=1)
    cache.put("a", _verified(1e12))
    cache.discard("a")
    cache.discard("never-there")
    assert len(cache) == 0
    with pytest.raises(ValueError):
        VerifiedTokenCache(max_entries=0)
