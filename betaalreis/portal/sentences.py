"""Sentence building for portal texts that end with a name.

A translated sentence such as "Neem contact op met %(name)s" leaves its
full stop to `with_full_stop`, because a legal name often ends with one
("Acme B.V."), and a second stop after it reads as a typo. Such a message
must end with the name in every language, or the stop lands mid-sentence.
"""

from __future__ import annotations

SENTENCE_ENDS = (".", "!", "?")


def with_full_stop(text: str) -> str:
    """Return `text` ending in one full stop: unchanged when it already ends a sentence, else with "." added."""
    text = str(text).rstrip()
    return text if text.endswith(SENTENCE_ENDS) else f"{text}."
