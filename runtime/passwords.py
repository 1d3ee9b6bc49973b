"""Password hashing with Argon2id (argon2-cffi), upgrading older hashes on sign-in.

New hashes are Argon2id with argon2-cffi's current parameters (RFC 9106's low-memory
profile). Hashes made before — PBKDF2-SHA256 in the form
``pbkdf2_sha256$iterations$salt$digest``, or Argon2 with other parameters — still verify,
and :func:`needs_rehash` tells the identity service to store a fresh hash the next time
the person signs in with the right password.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

LEGACY_ALGORITHM = "pbkdf2_sha256"

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """A salted Argon2id hash of ``password`` (the PHC string, ``$argon2id$v=19$...``)."""
    return _hasher.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time comparison)."""
    if not stored:
        return False
    if stored.startswith(LEGACY_ALGORITHM + "$"):
        return _check_pbkdf2(stored, password)
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with another algorithm or other parameters than today's."""
    if stored.startswith(LEGACY_ALGORITHM + "$"):
        return True
    try:
        return _hasher.check_needs_rehash(stored)
    except (InvalidHashError, ValueError):
        return True


def _check_pbkdf2(stored: str, password: str) -> bool:
    try:
        _, iterations, salt, digest = stored.split("$")
        candidate = hashlib.pbkdf2_hmac(
            "sha256", password.encode(), base64.b64decode(salt), int(iterations)
        )
        return hmac.compare_digest(candidate, base64.b64decode(digest))
    except (ValueError, binascii.Error):
        return False
