"""Affiliate selling: shops offer products to anchors for a commission, anchors sell them."""
