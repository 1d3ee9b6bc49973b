"""Page objects of the browser tests: they find and operate elements, and never assert."""

from tests.e2e.pages.dashboards import DashboardPage, DrillListPage
from tests.e2e.pages.designer import DesignerPage
from tests.e2e.pages.pages import DetailPage, ListPage, RecordFormPage, SignInPage

__all__ = ["DashboardPage", "DesignerPage", "DrillListPage", "DetailPage", "ListPage", "RecordFormPage", "SignInPage"]
