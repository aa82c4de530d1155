"""WSGI entry point."""

import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

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
