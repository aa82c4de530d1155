"""Email per creditor through plain SMTP or any ESP that django-anymail supports."""

from betaalreis.channels.backends.anymail.api import AnymailEmailBackend, SmtpEmailBackend

__all__ = ["AnymailEmailBackend", "SmtpEmailBackend"]
