"""Analytics: what the orders and visits say, computed by the definitions of DESIGN.md."""
