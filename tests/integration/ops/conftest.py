"""The automation worlds serve the operator-view tests too."""

from tests.integration.automation.conftest import embedded_world  # noqa: F401  (fixture)
