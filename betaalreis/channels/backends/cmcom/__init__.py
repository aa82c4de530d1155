"""CM.com Business Messaging (SMS)."""

from betaalreis.channels.backends.cmcom.api import CmSmsBackend

__all__ = ["CmSmsBackend"]
