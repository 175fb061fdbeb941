"""Password hashing (Argon2id), API bearer tokens and portal session ids (random, stored only as SHA-256 digests)."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "gbs_"
#: Set to 1 by the test suite only (tests/conftest.py, docs/testing.md): new hashes use one pass over 8 KiB instead
#: of Argon2id's default three over 64 MiB, so thousands of test sign-ins do not each cost a quarter of a second.
#: Hashes carry their own parameters, so either kind verifies either way. Never set it anywhere else.
INSECURE_TEST_HASHES = "GBSMART_INSECURE_TEST_PASSWORD_HASHES"


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    if os.environ.get(INSECURE_TEST_HASHES) == "1":
        return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash no password matches, made once with the same parameters as real ones."""
    return _hasher().hash(secrets.token_urlsafe(32))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check ``password``; with no hash (unknown user, no password set) spend the same Argon2 work and refuse."""
    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_id() -> str:
    """The random id a portal session cookie carries; the server keeps only its ``token_digest``."""
    return secrets.token_urlsafe(32)


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def same(a: str | None, b: str | None) -> bool:
    return bool(a and b and hmac.compare_digest(a, b))
