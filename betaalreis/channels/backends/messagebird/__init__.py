"""MessageBird (now Bird) legacy SMS REST API."""

from betaalreis.channels.backends.messagebird.api import MessageBirdSmsBackend

__all__ = ["MessageBirdSmsBackend"]
