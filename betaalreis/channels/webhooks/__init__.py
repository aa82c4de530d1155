"""Webhook endpoints, one module per provider on one shared base view."""
