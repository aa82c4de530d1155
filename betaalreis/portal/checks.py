"""System check for `betaalreis check --deploy` on the cache that keeps the sign-in limits of the portal and the admin."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning

from betaalreis import deployment


@register(Tags.security, deploy=True)
def check_shared_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Report a default cache that each server process keeps on its own."""
    problem = deployment.per_process_cache_problem(settings.CACHES)
    if problem is None:
        return []
    return [CheckWarning(problem, id="betaalreis.W001")]
