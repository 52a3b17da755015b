"""Admin keys: a ring of their SHA-256 digests, separate from the owners' keys.

An admin key steers the whole service (rules, the clock, every job), so it is never an
owner's key: start-up refuses a key that is both, and an owner key presented to the admin
API is just an invalid admin key.
"""

from __future__ import annotations

import hmac

from batch_service.auth import hash_key


def parse_admin_keys(raw: str) -> tuple[bytes, ...]:
    """`key,key` as digests; the keys themselves are dropped."""
    return tuple(hash_key(key) for key in filter(None, (part.strip() for part in raw.split(","))))


class AdminKeys:
    def __init__(self, digests: tuple[bytes, ...]) -> None:
        self._digests = digests

    @property
    def enabled(self) -> bool:
        """Without an admin key the admin API does not exist (404)."""
        return bool(self._digests)

    def admits(self, presented: str | None) -> bool:
        if presented is None:
            return False
        digest = hash_key(presented)
        admitted = False
        for known in self._digests:  # no early exit: every key is compared every time
            admitted |= hmac.compare_digest(digest, known)
        return admitted
