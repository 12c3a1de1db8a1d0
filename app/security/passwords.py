"""Password hashes of database accounts: Argon2id with OWASP's minimum parameters.

Flask-AppBuilder hashes with werkzeug's scrypt (N = 2^15, r = 8, p = 1), which costs about
85 ms of CPU per sign-in on this hardware and is below OWASP's own scrypt minimum (N = 2^17).
Argon2id, OWASP's first choice, at its minimum (19 MiB, 2 passes, 1 lane) costs about 26 ms:
a station's morning sign-ins no longer queue behind each other.

- ``FAB_PASSWORD_HASH_METHOD`` (environment: ``PASSWORD_HASH_METHOD``) chooses: ``argon2id`` (the default) or any werkzeug method
  (``scrypt``, ``pbkdf2:sha256:600000``; the test suite uses a cheap pbkdf2).
- Hashes already stored in another method still verify; the account is re-hashed with the
  configured method at its next successful sign-in (``needs_rehash``).
- ``PASSWORD_ARGON2_MEMORY_KIB`` / ``PASSWORD_ARGON2_TIME_COST`` / ``PASSWORD_ARGON2_PARALLELISM``
  raise the parameters; lowering them below OWASP's minimum is refused at start-up.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash, generate_password_hash

ARGON2 = "argon2id"
# OWASP Password Storage Cheat Sheet: m = 19 MiB, t = 2, p = 1 is the minimum for Argon2id.
OWASP_MINIMUM = {"memory_kib": 19_456, "time_cost": 2, "parallelism": 1}


@lru_cache(maxsize=8)
def _hasher(memory_kib: int, time_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hasher(config: Mapping[str, Any]) -> PasswordHasher:
    """The Argon2id hasher of ``config``; refuses parameters under OWASP's minimum."""
    memory = int(config.get("PASSWORD_ARGON2_MEMORY_KIB", OWASP_MINIMUM["memory_kib"]))
    time_cost = int(config.get("PASSWORD_ARGON2_TIME_COST", OWASP_MINIMUM["time_cost"]))
    lanes = int(config.get("PASSWORD_ARGON2_PARALLELISM", OWASP_MINIMUM["parallelism"]))
    if memory < OWASP_MINIMUM["memory_kib"] or time_cost < OWASP_MINIMUM["time_cost"] or lanes < 1:
        raise ValueError("PASSWORD_ARGON2_*: below OWASP's minimum for Argon2id (19456 KiB, 2 passes, 1 lane)")
    return _hasher(memory, time_cost, lanes)


def check_settings(config: Mapping[str, Any]) -> None:
    """At start-up: the configured method's parameters are acceptable (raises ValueError)."""
    if method(config) == ARGON2:
        hasher(config)


def method(config: Mapping[str, Any]) -> str:
    return str(config.get("FAB_PASSWORD_HASH_METHOD") or ARGON2)


def hash_password(config: Mapping[str, Any], plain: str) -> str:
    """The stored form of ``plain`` in the configured method."""
    if method(config) == ARGON2:
        return hasher(config).hash(plain)
    return generate_password_hash(plain, method=method(config),
                                  salt_length=int(config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16)))


def verify_password(config: Mapping[str, Any], stored: str | None, plain: str) -> bool:
    """Whether ``plain`` matches ``stored``, whichever method ``stored`` was made with."""
    if not stored:
        return False
    if stored.startswith("$argon2"):
        try:
            return hasher(config).verify(stored, plain)
        except (VerificationError, InvalidHashError):
            return False
    try:
        return check_password_hash(stored, plain)
    except ValueError:  # not a hash werkzeug knows
        return False


def needs_rehash(config: Mapping[str, Any], stored: str) -> bool:
    """Whether ``stored`` should be made again with the configured method: made with another
    method (for werkzeug's methods, the algorithm's name is compared, not its iterations), or,
    for Argon2id, with parameters other than the configured ones."""
    if method(config) != ARGON2:  # a werkzeug method: "pbkdf2:sha256:600000", "scrypt"…
        return stored.split("$", 1)[0].split(":")[0] != method(config).split(":")[0]
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return hasher(config).check_needs_rehash(stored)
    except InvalidHashError:
        return True


@lru_cache(maxsize=8)
def _decoy(memory_kib: int, time_cost: int, parallelism: int) -> str:
    return _hasher(memory_kib, time_cost, parallelism).hash("gridcare-decoy-password")


@lru_cache(maxsize=8)
def _werkzeug_decoy(hash_method: str, salt_length: int) -> str:
    return generate_password_hash("gridcare-decoy-password", method=hash_method, salt_length=salt_length)


def balance_failure(config: Mapping[str, Any]) -> None:
    """Spend what a real check of a hash of the configured method spends, for an unknown or
    inactive account (no timing oracle between them and accounts hashed that way; an account
    still holding an older method's hash costs that method until its next sign-in)."""
    if method(config) == ARGON2:
        h = hasher(config)
        stored = _decoy(h.memory_cost, h.time_cost, h.parallelism)
    else:
        stored = _werkzeug_decoy(method(config), int(config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16)))
    verify_password(config, stored, "not-the-password")
