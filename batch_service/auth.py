"""Who is calling: an owner's API key, or a job-scoped read-only logs token.

Keys are kept only as SHA-256 digests and every presented key is compared against all of
them with `hmac.compare_digest`, so neither the keys nor timing reveal which one is close.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable

from batch_service.settings import ApiKey, hash_key

LOGS_TOKEN_PREFIX = "bjl_"
ANONYMOUS_OWNER = "anonymous"


class KeyRing:
    def __init__(self, keys: Iterable[ApiKey], *, allow_anonymous: bool) -> None:
        self._keys = tuple(keys)
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
