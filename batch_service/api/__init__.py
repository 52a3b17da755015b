"""The HTTP layer: it validates, authenticates and calls the store; nothing more."""

from batch_service.api.app import create_app

__all__ = ["create_app"]
