"""Checkout, inventory reservation, payments, shipping and after-sales."""
