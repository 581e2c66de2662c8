"""Staff's whole job in a real browser: sign in, create a laboratory, watch it complete, read its
audit log; a step failing for good, the error on the page, the fix, Retry, completed.

Playwright drives Debian's Chromium (no browser download). The admin runs in pytest-django's
live server, whose thread also runs the provisioning task eagerly, against the sandbox. Each page
is saved to artifacts/screenshots/.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.admin_users import PASSWORD, STAFF_PERMISSIONS

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "artifacts" / "screenshots"
# The plan-limit answer of GitHub to branch protection on a Free organization's private repo.
PLAN_LIMIT = {
    "provider": "github",
    "method": "PUT",
    "path": r"/branches/.+/protection$",
    "status": 403,
    "body": {
        "message": "Upgrade to GitHub Pro or make this repository public to enable this feature.",
        "documentation_url": "https://docs.github.com/rest/branches/branch-protection",
    },
}
# Provisioning runs inside the request that saves the course; a page may wait that long.
TIMEOUT_MS = 60_000

pytestmark = pytest.mark.django_db(transaction=True)


def _unavailable(reason: str) -> None:
    # CI installs Chromium and Playwright (.ci/run, pyproject's dev extras): there, a missing
    # browser is a broken setup, not a reason to skip.
    if os.environ.get("CI"):
        pytest.fail(f"browser test cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def ada(platforms, make_user) -> str:
    """Staff with the usual permissions, and two staff-made servers in the pool."""
    platforms.add_servers(2)
    return make_user("ada", *STAFF_PERMISSIONS).username


@pytest.fixture
def browser_page(ada) -> Iterator[Any]:
    """A Chromium page; set up after every fixture that uses the database and closed before
    their teardown: Playwright's sync API runs an event loop in this thread, in which Django
    refuses database calls."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def create_laboratory(page: Any, base_url: str, name: str, groups: tuple[str, ...]) -> None:
    page.goto(f"{base_url}/admin/courses/course/add/")
    page.fill("#id_name", name)
    page.fill("#id_semester", "2026-fall")
    page.select_option("#id_type", "LABORATORY")
    for index, group in enumerate(groups):
        page.fill(f"#id_lab_groups-{index}-name", group)


def test_staff_create_watch_read_and_retry_in_the_browser(
    live_server, platforms, ada, browser_page
):
    from playwright.sync_api import expect

    page, base = browser_page, live_server.url
    expect.set_options(timeout=TIMEOUT_MS)
    status = page.locator("div.field-status_badge .status-badge")  # the course's, not a step's

    # Sign in: the admin sends an anonymous visitor to its login page.
    page.goto(f"{base}/admin/")
    expect(page).to_have_title("Log in | Course provisioning")
    shot(page, "01-login")
    page.fill("#id_username", ada)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_have_text("Course provisioning")
    shot(page, "02-index")

    # A laboratory with two groups, created and provisioned to the end.
    create_laboratory(page, base, "Operating Systems Lab", ("Monday group", "Tuesday group"))
    shot(page, "03-add-course")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was created")
    expect(status).to_have_text("Completed")
    expect(page.locator("div.fieldBox.field-progress")).to_contain_text("6 / 6")
    expect(page.locator("#steps-group tbody .status-success")).to_have_count(6)
    expect(page.locator("a[href^='https://discord.com/channels/']").first).to_be_visible()
    shot(page, "04-course-completed")

    # Its audit log: every call the run made, then one call's request and response.
    page.click("#full-audit-log")
    expect(page.locator("#result_list tbody tr").first).to_be_visible()
    expect(page.locator("#changelist-filter")).to_contain_text("Operating Systems Lab (2026-fall)")
    shot(page, "05-audit-log")
    page.locator("#result_list tbody tr th a").first.click()
    expect(page.locator(".field-request_json")).to_be_visible()
    shot(page, "06-audit-entry")

    # GitHub refuses branch protection for good: the course fails, saying why and what to do.
    platforms.control.set_faults(rules=[PLAN_LIMIT])
    create_laboratory(page, base, "Computer Networks Lab", ("Group A", "Group B"))
    page.click("input[name=_save]")
    expect(status).to_have_text("Failed")
    failure = page.locator("#failed-step")
    expect(failure).to_contain_text("Step APPLY_GROUP_BRANCH_PROTECTIONS failed after 1 attempt")
    expect(failure).to_contain_text("Upgrade the organization to GitHub Team")
    shot(page, "07-course-failed")

    # The organization is upgraded; Retry runs what failed, and the course completes.
    platforms.control.clear_faults()
    page.locator("input[name=_retry]").first.click()  # the page has a button row on top too
    expect(page.locator(".messagelist")).to_contain_text("Retrying the failed steps of 1 course")
    expect(status).to_have_text("Completed")
    expect(page.locator("input[name=_retry]")).to_have_count(0)
    shot(page, "08-course-retried")

    # The list of courses, and the server pool with the claims and invite links.
    page.goto(f"{base}/admin/courses/course/")
    expect(page.locator("#result_list .status-success")).to_have_count(2)
    shot(page, "09-course-list")
    page.goto(f"{base}/admin/provisioning/discordserver/")
    expect(page.locator("#result_list a", has_text="Add the bot")).to_have_count(2)
    shot(page, "10-discord-servers")
