"""Debtor portal URLs."""

from django.urls import path

from betaalreis.portal import views

app_name = "portal"

urlpatterns = [
    path("p/<str:token>/", views.account, name="account"),
]
