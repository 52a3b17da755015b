"""Who is calling: an owner's API key, or a job-scoped read-only logs token.

Keys are kept only as SHA-256 digests and every presented key is compared against all of
them with `hmac.compare_digest`, so neither the keys nor timing reveal which one is close.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass

LOGS_TOKEN_PREFIX = "bjl_"
ANONYMOUS_OWNER = "anonymous"
# RFC 6750 section 2.1: `credentials = "Bearer" 1*SP b64token`. A key is sent as that token,
# so a key must be one: other characters (non-ASCII above all, which HTTP headers carry as
# Latin-1 bytes) could be configured but never presented.
B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
BEARER_CREDENTIALS = re.compile(rf"bearer +({B64TOKEN.pattern})", re.IGNORECASE)


@dataclass(frozen=True)
class ApiKey:
    """An owner and the SHA-256 of its key: the key itself is dropped after loading."""

    owner: str
    key_hash: bytes


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def parse_api_keys(raw: str) -> tuple[ApiKey, ...]:
    """Parse `owner:key,owner:key`; an error names the bad entry's position, never its key."""
    keys: list[ApiKey] = []
    for position, entry in enumerate(filter(None, (part.strip() for part in raw.split(","))), start=1):
        owner, sep, key = (part.strip() for part in entry.partition(":"))
        if not sep or not owner or not key:
            raise ValueError(f"BATCH_API_KEYS entry {position} is not of the form owner:key")
        if not B64TOKEN.fullmatch(key):
            raise ValueError(
                f"BATCH_API_KEYS entry {position}: a key may hold only ASCII letters, digits and "
                "-._~+/ (then = signs at the end), what an RFC 6750 Bearer token can carry"
            )
        keys.append(ApiKey(owner=owner, key_hash=hash_key(key)))
    return tuple(keys)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None if it is not one.

    The scheme is case-insensitive (RFC 7235 section 2.1) and may be followed by several
    spaces (`1*SP`); tabs, inner spaces and characters outside b64token make it not one.
    """
    if authorization is None:
        return None
    match = BEARER_CREDENTIALS.fullmatch(authorization)
    return match.group(1) if match else None


class KeyRing:
    def __init__(self, keys: Iterable[ApiKey], *, allow_anonymous: bool) -> None:
        self._keys = tuple(keys)
        self._owners = frozenset(key.owner for key in self._keys)
        self.allow_anonymous = allow_anonymous

    def owner_for(self, presented: str | None) -> str | None:
        """The owner of `presented`, or None; anonymous mode admits callers with no key."""
        if presented is None:
            return ANONYMOUS_OWNER if self.allow_anonymous else None
        digest = hash_key(presented)
        owner = None
        for key in self._keys:  # no early exit: every key is compared every time
            if hmac.compare_digest(digest, key.key_hash):
                owner = key.owner
        return owner

    def knows(self, owner: str) -> bool:
        """Whether `owner` may still act here: a removed owner's logs tokens die with it."""
        return owner in self._owners or (self.allow_anonymous and owner == ANONYMOUS_OWNER)


class LogsTokenSigner:
    """Derives each job's logs token as an HMAC of its id, so none is stored in the clear and
    an idempotent replay of a create hands out the very same token."""

    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def token_for(self, job_id: str) -> str:
        mac = hmac.new(self._secret, f"logs:{job_id}".encode(), hashlib.sha256).digest()
        return LOGS_TOKEN_PREFIX + base64.urlsafe_b64encode(mac).decode().rstrip("=")

    def is_valid(self, token: str, job_id: str) -> bool:
        return hmac.compare_digest(token.encode(), self.token_for(job_id).encode())


def is_logs_token(token: str) -> bool:
    return token.startswith(LOGS_TOKEN_PREFIX)
