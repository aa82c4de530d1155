"""Debtor portal URLs."""

from django.urls import path

from betaalreis.portal import views

app_name = "portal"

urlpatterns = [
    path("p/<str:token>/", views.sign_in_link, name="account"),
    path("b/<str:code>/", views.short_link, name="short"),
    path("portal/", views.overview, name="overview"),
    path("portal/code/", views.code_request, name="code_request"),
    path("portal/code/check/", views.code_verify, name="code_verify"),
    path("portal/sign-out/", views.sign_out, name="sign_out"),
    path("portal/pay/", views.pay, name="pay"),
    path("portal/payments/<str:token>/", views.payment_return, name="payment_return"),
    path("portal/invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("portal/invoices/<int:invoice_id>/dispute/", views.dispute, name="dispute"),
    path("portal/accounts/<int:debtor_id>/statement.pdf", views.statement_pdf, name="statement_pdf"),
    path("portal/accounts/<int:debtor_id>/promise/", views.promise, name="promise"),
    path("portal/accounts/<int:debtor_id>/plan/", views.plan, name="plan"),
    path("portal/accounts/<int:debtor_id>/plan/pay/", views.plan_pay, name="plan_pay"),
    path("portal/accounts/<int:debtor_id>/preferences/", views.preferences, name="preferences"),
    path("portal/brand/<int:creditor_id>.css", views.brand_css, name="brand_css"),
    path("portal/brand/<int:creditor_id>/logo", views.logo, name="logo"),
]
