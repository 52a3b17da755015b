"""The API keys of the test owners: written once, so every test and every server it starts agree."""

from __future__ import annotations

ALICE_KEY = "alice-secret-key"
BOB_KEY = "bob-secret-key"
DEFAULT_KEYS = f"alice:{ALICE_KEY},bob:{BOB_KEY}"  # BATCH_API_KEYS for the servers tests start


def bearer(key: str) -> dict[str, str]:
    """The Authorization header that presents `key` (an API key or a logs token)."""
    return {"Authorization": f"Bearer {key}"}


ALICE = bearer(ALICE_KEY)
BOB = bearer(BOB_KEY)
