"""Shops, products, SKUs, prices and stock."""
