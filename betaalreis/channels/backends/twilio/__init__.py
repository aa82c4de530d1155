"""Twilio Programmable Messaging (SMS)."""

from betaalreis.channels.backends.twilio.api import TwilioSmsBackend

__all__ = ["TwilioSmsBackend"]
