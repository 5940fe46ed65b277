"""laotie: a self-hostable live-commerce platform in which trust is the currency."""

__version__ = "0.1.0"
