"""WSGI entry point."""

import logging
import os
import sys

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

from betaalreis import deployment

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betaalreis.settings")

# Exit code 4 is APP_LOAD_ERROR in gunicorn's arbiter (checked in 27.0),
# which makes its master stop with the reason instead of booting new workers.
APP_LOAD_ERROR = 4

try:
    application = get_wsgi_application()
except ImproperlyConfigured as error:
    # betaalreis.settings raises it for a missing or unsafe setting, and its message names the setting.
    sys.stderr.write(f"betaalreis: invalid configuration: {' '.join(str(error).split())}\n")
    sys.stderr.flush()
    raise SystemExit(APP_LOAD_ERROR) from None

if settings.PRODUCTION and deployment.per_process_cache_problem(settings.CACHES):
    # gunicorn loads this module in each worker (with --preload once, in the master), and each load logs it.
    logging.getLogger("betaalreis.wsgi").warning(
        "portal sign-in limit counts per server process; set BETAALREIS_CACHE_URL to a shared cache",
        extra={"cache_backend": settings.CACHES["default"]["BACKEND"]},
    )
