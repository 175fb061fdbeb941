"""Fixtures of the alerts tests."""

from tests.gateway.duis_parser import duis_parser  # noqa: F401  (@smartdcc/duis-parser, fetched once per session)
