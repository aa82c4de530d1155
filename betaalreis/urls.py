"""Root URL configuration."""

from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from betaalreis.ledger.admin_login import ThrottledAdminAuthenticationForm

# The back office names the product instead of Django's "Django-beheer".
admin.site.site_header = _("Betaalreis-beheer")
admin.site.site_title = _("Betaalreis-beheer")
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("channels/", include("betaalreis.channels.urls")),
    path("", include("betaalreis.portal.urls")),
    path("", include("betaalreis.payments.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]

handler400 = "betaalreis.portal.error_views.bad_request"
handler403 = "betaalreis.portal.error_views.permission_denied"
