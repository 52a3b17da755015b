"""Opaque page tokens: clients pass them back unchanged; anything else is a clear 400."""

from __future__ import annotations

import base64
import binascii

MAX_POSITION = 2**62  # fits a signed 64-bit column on every database


class InvalidPageToken(ValueError):
    """A page token that this service did not hand out (or one for another listing)."""


def encode_page_token(kind: str, position: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def decode_page_token(kind: str, token: str, *, maximum: int = MAX_POSITION) -> int:
    """The position a token stands for; raises `InvalidPageToken` for anything malformed or
    beyond `maximum` (what the column it is compared with can hold)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        token_kind, _, position = raw.partition(":")
        if token_kind != kind or not position.isascii() or not position.isdigit():
            raise InvalidPageToken(f"page_token is not a valid {kind} page token")
        value = int(position)
        if value > maximum:
            raise InvalidPageToken(f"page_token is not a valid {kind} page token")
        return value
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise InvalidPageToken(f"page_token is not a valid {kind} page token") from error
