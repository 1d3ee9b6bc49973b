"""Page objects for sign-in, record forms, lists and detail pages (no assertions here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class SignInPage:
    """The sign-in page."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def open(self) -> SignInPage:
        """Goes to the sign-in page."""
        self.page.goto("/login")
        return self

    def sign_in(self, username: str, password: str) -> None:
        """Fills the form and submits it; waits for the next page."""
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")

    @property
    def error(self) -> Any:
        """The error message locator."""
        return self.page.get_by_test_id("signin-error")


class RecordFormPage:
    """The record form with its step cards."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def open(self, app: str, entity: str, record_id: int) -> RecordFormPage:
        """Opens the form of a stored record."""
        self.page.goto(f"/a/{app}/{entity}/{record_id}/edit")
        return self

    def open_new(self, app: str, entity: str) -> RecordFormPage:
        """Opens the form of a new record."""
        self.page.goto(f"/a/{app}/{entity}/new")
        return self

    def card(self, step: str) -> Any:
        """The card of ``step`` (``""``: the card of the fields outside any step)."""
        if not step:
            return self.page.locator("[data-step-none]")
        return self.page.locator(f'[data-step="{step}"]')

    def locked_message(self, step: str) -> Any:
        """The locked message of ``step``'s card."""
        return self.card(step).locator("[data-locked-message]")

    def card_fields(self, step: str) -> Any:
        """The fieldset of ``step``'s card (disabled while the card is locked)."""
        return self.card(step).locator("[data-step-fields]")

    def field(self, key: str) -> Any:
        """The row of field ``key``."""
        return self.page.locator(f'[data-field="{key}"]')

    def mark_page(self) -> None:
        """Leaves a marker in the page's JavaScript state; a reload would remove it."""
        self.page.evaluate("window.__e2eMarker = 'still-here'")

    def page_marker(self) -> Any:
        """The marker left by :meth:`mark_page` (None after a reload)."""
        return self.page.evaluate("window.__e2eMarker || null")

    def wait_for_state(self) -> None:
        """Waits until the form-state request after the last change has been applied."""
        self.page.wait_for_timeout(250)  # the form debounces changes for 200 ms
        self.page.wait_for_function(
            "() => !document.querySelector('[data-record-form]').hasAttribute('data-state-pending')"
        )

    def check_in(self, key: str) -> None:
        """Presses "use my location" of location field ``key`` and waits for the position."""
        self.field(key).locator("[data-locate]").click()
        self.page.wait_for_selector(f'[data-field="{key}"] [data-location][data-located]')

    def upload(self, key: str, path: Path) -> None:
        """Chooses a file for a photo/file field and waits for its thumbnail (or an error)."""
        before = self.field(key).locator("[data-thumbs] li").count()
        self.field(key).locator("input[type=file]").set_input_files(str(path))
        self.page.wait_for_function(
            """([key, before]) => {
                const row = document.querySelector(`[data-field="${key}"]`);
                return row.querySelectorAll('[data-thumbs] li').length > before
                    || row.querySelector('[data-upload-error]');
            }""",
            arg=[key, before],
        )

    def fill(self, key: str, value: str) -> None:
        """Types ``value`` into the text input or text area of field ``key``."""
        self.field(key).locator("input.input, textarea").first.fill(value)

    def save(self, step: str) -> None:
        """Presses the save button of ``step``'s card and waits for the answer."""
        with self.page.expect_response(lambda r: r.request.method == "POST" and "/state" not in r.url):
            self.card(step).locator("[data-save]").click()
        self.page.wait_for_function("() => !document.querySelector('[data-record-form]').hasAttribute('data-saving')")

    @property
    def prompts(self) -> Any:
        """The prompts shown after a save."""
        return self.page.get_by_test_id("prompt")

    @property
    def message(self) -> Any:
        """The form's message line (saved / refused)."""
        return self.page.locator("[data-form-message]")

    def small_controls(self, minimum: int = 44) -> Any:
        """Visible buttons, links styled as buttons and inputs smaller than ``minimum`` px high."""
        return self.page.evaluate(
            """(minimum) => [...document.querySelectorAll(
                    'button, .button, input.input, select.input, textarea.input, summary')]
                .filter((el) => el.offsetParent !== null)
                .map((el) => [el.textContent.trim().slice(0, 30) || el.name || el.tagName,
                              Math.round(el.getBoundingClientRect().height)])
                .filter(([, height]) => height < minimum)""",
            minimum,
        )

    def horizontal_overflow(self) -> Any:
        """How many pixels the page is wider than the viewport."""
        return self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


class ListPage:
    """An entity's record list."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def open(self, app: str, entity: str, query: str = "") -> ListPage:
        """Opens the list (``query`` is a query string without ``?``)."""
        self.page.goto(f"/a/{app}/{entity}/" + (f"?{query}" if query else ""))
        return self

    @property
    def rows(self) -> Any:
        """The record rows shown."""
        return self.page.get_by_test_id("record-row")

    def more(self) -> None:
        """Loads the next page in place."""
        count = self.rows.count()
        self.page.get_by_test_id("more").click()
        self.page.wait_for_function(
            "(n) => document.querySelectorAll('[data-testid=record-row]').length > n", arg=count
        )


class DetailPage:
    """A record's detail page with its timeline."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def open(self, app: str, entity: str, record_id: int) -> DetailPage:
        """Opens the detail page."""
        self.page.goto(f"/a/{app}/{entity}/{record_id}")
        return self

    @property
    def timeline(self) -> Any:
        """The timeline section."""
        return self.page.get_by_test_id("timeline")

    def events_of(self, entity: str, record_id: int) -> Any:
        """Timeline events of one (related) record."""
        return self.timeline.locator(f'[data-entity="{entity}"][data-record="{record_id}"]')

    @property
    def share_link(self) -> Any:
        """The share link input."""
        return self.page.get_by_test_id("share-link")
