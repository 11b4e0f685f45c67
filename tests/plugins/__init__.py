"""Fixtures the tests share, loaded for the whole suite by `pytest_plugins` in tests/conftest.py."""
