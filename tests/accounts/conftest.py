"""The console accounts are tested beside a second practice, as the back office is."""

from tests.backoffice.conftest import home  # noqa: F401  (the fixture)
