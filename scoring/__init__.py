"""Proxy means test scoring and beneficiary lists (pure Python, no web imports)."""
