"""Payment URLs: provider webhooks and the test provider's checkout page."""

from django.urls import path

from betaalreis.payments import views

app_name = "payments"

urlpatterns = [
    path("webhooks/payments/<slug:provider>/", views.webhook, name="webhook"),
    path("test-checkout/<str:provider_id>/", views.test_checkout, name="test_checkout"),
]
