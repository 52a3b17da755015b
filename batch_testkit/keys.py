"""The keys of the service the kit starts: two owners and an admin, written once."""

from __future__ import annotations

ALICE_KEY = "alice-secret-key"
BOB_KEY = "bob-secret-key"
ADMIN_KEY = "admin-secret-key"
OWNER_KEYS = {"alice": ALICE_KEY, "bob": BOB_KEY}
DEFAULT_KEYS = ",".join(f"{owner}:{key}" for owner, key in OWNER_KEYS.items())  # BATCH_API_KEYS


def bearer(key: str) -> dict[str, str]:
    """The Authorization header that presents `key` (an API key, a logs token or an admin key)."""
    return {"Authorization": f"Bearer {key}"}


ALICE = bearer(ALICE_KEY)
BOB = bearer(BOB_KEY)
ADMIN = bearer(ADMIN_KEY)
