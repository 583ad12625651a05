"""The console in a real browser (Debian's Chromium through its chromedriver, headless) against the whole
stack: a tenant provisioned over SCIM the way Okta does it, then every page an operator uses.

Screenshots of each page are kept in the test's tmp dir; with ROSTER_CONSOLE_SCREENSHOTS=docs/console
they are also written there (the ones README.md shows are made this way).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from tests.okta import OKTA_USER_AGENT, user_body
from tests.stack import Stack
from tests.teams_client import GROUP, create_user

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")  # scripts/bootstrap.sh installs both
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,860"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


class Operator:
    """The browser as an operator drives it: links and buttons by their visible text, by keyboard-usable
    elements only (every one is a link, a button or a form field)."""

    def __init__(self, driver: WebDriver, console_url: str, shots: Path) -> None:
        self.driver = driver
        self.console_url = console_url
        self.shots = shots

    def open(self, path: str) -> None:
        self.driver.get(self.console_url + path)

    def click(self, text: str) -> None:
        self.driver.find_element(
            By.XPATH, f"//a[normalize-space()={text!r}] | //button[normalize-space()={text!r}]"
        ).click()

    def submit(self, field_id: str, value: str, button: str) -> None:
        field = self.driver.find_element(By.ID, field_id)
        field.clear()
        field.send_keys(value)
        self.click(button)

    def text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    def row_of(self, cell: str) -> str:
        return self.driver.find_element(By.XPATH, f"//tr[td[normalize-space()={cell!r}]]").text

    def wait_for(self, words: str) -> None:
        waiting = WebDriverWait(self.driver, 15, poll_frequency=0.1)
        waiting.until(lambda _: words in self._text_while_loading())

    def _text_while_loading(self) -> str:
        """The page's text, or "" while a form's answer replaces it: <body> can go stale between
        finding and reading it, and chromedriver reports a read from the document being torn down
        as an "unhandled inspector error" (Cannot find context with specified id)."""
        try:
            return self.text()
        except StaleElementReferenceException:
            return ""
        except WebDriverException as error:
            if any(sign in (error.msg or "") for sign in ("inspector error", "Cannot find context")):
                return ""
            raise

    def filter_until_listed(self, *rows: str) -> None:
        """The activity log is written moments after the answers (each topic read in 200 ms windows):
        the filter is applied again until the page lists every row (XPath) or 15 s have passed."""
        deadline = time.monotonic() + 15
        while True:
            self.click("Filter")
            if all(self.driver.find_elements(By.XPATH, row) for row in rows):
                return
            assert time.monotonic() < deadline, f"not listed: {rows}"
            time.sleep(0.3)

    def shoot(self, name: str) -> None:
        width = self.driver.execute_script("return document.documentElement.scrollWidth")
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(max(1280, width), max(860, min(height + 100, 2000)))
        self.driver.save_screenshot(str(self.shots / f"{name}.png"))
        self.driver.set_window_size(1280, 860)


def _okta_create(stack: Stack, tenant_id: str, token: str, user_name: str) -> str:
    """Okta's create of one more user, refused at the seat limit; the detail Okta's admin is shown."""
    headers = {"Authorization": f"Bearer {token}", "User-Agent": OKTA_USER_AGENT}
    answer = httpx.post(f"{stack.base_url}/Users", headers=headers, json=user_body(user_name), timeout=30)
    assert answer.status_code == 403, answer.text
    detail: str = answer.json()["detail"]
    return detail


def _provision(stack: Stack) -> tuple[str, str]:
    """An Okta-shaped tenant: a VP, a Coach (the first one: the default manager) reporting to the VP, an AE
    reporting to the VP, an AE whose manager is not provisioned (→ the default manager), a pushed group."""
    tenant = stack.new_tenant("Acme Corp")
    with httpx.Client(base_url=stack.base_url, headers=tenant.auth, timeout=30) as scim:
        vp = create_user(
            scim, "vera.vp@acme.example", role="manager", title="VP Sales", displayName="Vera Park"
        )
        create_user(
            scim,
            "carl.coach@acme.example",
            manager="vera.vp@acme.example",
            role="coach",
            title="Sales Coach",
            displayName="Carl Diaz",
        )
        ae = create_user(
            scim,
            "anna.ae@acme.example",
            manager="vera.vp@acme.example",
            title="Account Executive",
            displayName="Anna Meyer",
        )
        new = create_user(
            scim,
            "ned.new@acme.example",
            manager="not.yet@acme.example",
            title="Account Executive",
            displayName="Ned Brooks",
        )
        group = {"schemas": [GROUP], "displayName": "West Sales", "members": [{"value": ae}, {"value": new}]}
        assert scim.post("/Groups", json=group).status_code == 201
        assert vp
    return tenant.id, tenant.token


def test_an_operator_reads_a_tenant_changes_its_default_manager_and_seats_reads_a_refusal_then_signs_out(
    stack: Stack, browser: WebDriver, tmp_path: Path
) -> None:
    tenant_id, token = _provision(stack)
    operator = Operator(browser, f"http://127.0.0.1:{stack.gateway_ports[0]}/console", tmp_path)

    operator.open(f"/tenants/{tenant_id}/users")
    assert "/console/sign-in" in browser.current_url
    operator.shoot("sign-in")
    browser.find_element(By.ID, "admin_token").send_keys(stack.admin_token)
    operator.click("Sign in")
    operator.wait_for("Account Executive")  # back on the page asked for

    assert "Anna Meyer" in operator.row_of("anna.ae@acme.example")
    anna = operator.row_of("anna.ae@acme.example")
    assert "active learner Account Executive Vera Park" in anna and "default" not in anna
    assert operator.row_of("ned.new@acme.example").endswith("Carl Diaz default")
    operator.shoot("users")

    operator.click("Tenants")
    tenant_row = browser.find_element(
        By.XPATH, "//tr[td/a[starts-with(normalize-space(), 'Acme Corp')]]"
    ).text
    # The seats set aside for instant activations (the seat allowance), one active token, then the
    # latest provisioning activity: when, and what (a request or an event).
    assert re.search(
        r"4 / 100 \+\d+ set aside 1 \d{4}-\d\d-\d\d \d\d:\d\d \w", " ".join(tenant_row.split())
    ), tenant_row
    operator.shoot("tenants")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Acme Corp").click()

    operator.click("Teams")
    west = operator.row_of("West Sales")
    assert "pushed" in west and "yes: managed in the identity provider" in west and "2 members" in west
    operator.wait_for("Vera Park")  # Vera's manager team follows the users events
    operator.shoot("teams")

    operator.click("Default manager")
    assert "Carl Diaz" in browser.find_element(By.ID, "effective").text
    Select(browser.find_element(By.ID, "user_id")).select_by_visible_text(
        "Anna Meyer (anna.ae@acme.example, learner)"
    )
    operator.click("Make default manager")
    operator.wait_for("role manager or above")  # the users service's rule, refused on the page
    operator.submit("q", "vera", "Search")  # a tenant with more users than the picker lists
    WebDriverWait(browser, 15, poll_frequency=0.1).until(lambda _: "q=vera" in browser.current_url)
    picker = Select(browser.find_element(By.ID, "user_id"))
    assert [option.text for option in picker.options][1:] == ["Vera Park (vera.vp@acme.example, manager)"]
    Select(browser.find_element(By.ID, "user_id")).select_by_visible_text(
        "Vera Park (vera.vp@acme.example, manager)"
    )
    operator.click("Make default manager")
    operator.wait_for("Default manager changed.")
    assert "Vera Park" in browser.find_element(By.ID, "effective").text
    operator.shoot("default-manager")
    operator.click("Users")
    assert operator.row_of("ned.new@acme.example").endswith("Vera Park default")

    operator.click("Manager tree")
    vera = browser.find_element(By.XPATH, "//li[span[contains(., 'vera.vp@acme.example')]]")
    assert {"carl.coach@acme.example", "anna.ae@acme.example", "ned.new@acme.example"} <= set(
        vera.text.split()
    )
    marked = browser.find_element(By.XPATH, "//span[contains(@class, 'default')]")
    assert "vera.vp@acme.example" in marked.text and "default manager" in marked.text
    operator.shoot("manager-tree")

    operator.click("Seats")
    operator.submit("limit", "-5", "Change the limit")
    operator.wait_for("Seat limit: enter a whole number from 0 to 1,000,000.")
    assert "4 / 100" in operator.text()  # refused: nothing changed
    operator.submit("limit", "75", "Change the limit")
    operator.wait_for("Seat limit changed.")
    assert "4 / 75" in operator.text()
    operator.shoot("seats")
    operator.submit("limit", "4", "Change the limit")
    operator.wait_for("4 / 4")
    refused = _okta_create(stack, tenant_id, token, "late.hire@acme.example")

    operator.click("Activity")
    Select(browser.find_element(By.ID, "outcome")).select_by_visible_text("refused")
    request = "//tr[td[normalize-space()='late.hire@acme.example']][contains(., 'POST User')]"
    denied = "//tr[td[normalize-space()='late.hire@acme.example']][contains(., 'SeatDenied')]"
    operator.filter_until_listed(request, denied)
    assert refused in operator.text()  # the exact text Okta showed its admin
    row = browser.find_element(By.XPATH, request).text
    assert "refused" in row and "okta" in row and "403" in row
    assert "refused" in browser.find_element(By.XPATH, denied).text  # the seats service's side of it
    operator.shoot("activity")
    operator.submit("since", "last tuesday", "Filter")
    operator.wait_for("Since: enter a time such as 2026-03-02T09:30:00Z, or a date such as 2026-03-02.")
    assert "late.hire@acme.example" not in operator.text()  # refused: nothing was read

    operator.click("Tokens")
    operator.wait_for("Revoke #")
    operator.shoot("tokens")

    operator.click("Sign out")
    # The click returns before the browser has followed the sign-out's redirect.
    WebDriverWait(browser, 15, poll_frequency=0.1).until(lambda _: "/console/sign-in" in browser.current_url)
    operator.open("/tenants")
    assert "/console/sign-in" in browser.current_url and "Acme Corp" not in operator.text()

    _keep_screenshots(tmp_path)


def _keep_screenshots(shots: Path) -> None:
    target = os.environ.get("ROSTER_CONSOLE_SCREENSHOTS")
    if not target:
        return
    destination = ROOT / target
    destination.mkdir(parents=True, exist_ok=True)
    for shot in sorted(shots.glob("*.png")):
        shutil.copy(shot, destination / shot.name)
