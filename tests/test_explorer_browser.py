"""End-to-end: the explorer page in a real browser (Debian's Chromium driven by Playwright).

The server runs in-process on a free loopback port. Chromium must be installed at
``/usr/bin/chromium`` (``apt-get install chromium``; CI installs it): if it is missing these tests
FAIL rather than skip, because a skipped browser test would hide a broken page.
Screenshots are saved under ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from kaiming.explorer.server import ServerThread

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TIMEOUT_MS = 30_000  # the machine running CI may be busy; a probe here takes well under a second
START = "?width=64&batch=64"
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with ServerThread() as running:
        yield running.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"{message.type}: {message.text}")

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    yield opened
    context.close()
    # Any script error or policy violation (e.g. a resource from another origin) fails the test;
    # the 400 answers the tests provoke on purpose are logged by Chromium as failed resources.
    unexpected = [p for p in problems if "status of 400" not in p]
    assert unexpected == []


def last_row(page: Page) -> str:
    return "#layers tbody tr:last-child"


def lowest_decade(page: Page, chart: str) -> int:
    """The smallest power of ten labelled on a log-scale chart's y axis."""
    labels = page.eval_on_selector_all(
        f"{chart} text",
        "nodes => nodes.map(n => n.textContent)",
    )
    exponents = [int(m.group(1)) for t in labels if (m := re.fullmatch(r"10(-?\d+)", t))]
    exponents += [0 for t in labels if t == "1"]
    assert exponents, labels
    return min(exponents)


def wait_for_layers(page: Page, count: int) -> None:
    expect(page.locator("#layers tbody tr")).to_have_count(count)


def test_he_to_xavier_with_relu_at_depth_30_vanishes(page: Page, base_url: str) -> None:
    page.goto(base_url + START)
    wait_for_layers(page, 20)  # the default depth
    page.select_option("#act", "relu")
    page.fill("#depth-num", "30")
    wait_for_layers(page, 30)
    expect(page.locator(last_row(page) + " .badge")).to_have_text("healthy")
    expect(page.locator("#summary")).not_to_contain_text("vanish")
    assert lowest_decade(page, "#chart-std") >= -2
    he_path = page.get_attribute("#chart-std path", "d")

    page.select_option("#init", "xavier_normal")
    expect(page.locator(last_row(page) + " .badge")).to_have_text("vanishing")
    expect(page.locator("#summary")).to_contain_text("vanish")
    expect(page.locator(".summary")).to_have_class(re.compile(r"\bh-vanishing\b"))
    # ReLU halves the variance per layer under Xavier: std ~ 2**-15 at layer 30.
    assert lowest_decade(page, "#chart-std") <= -4
    assert page.get_attribute("#chart-std path", "d") != he_path
    assert re.search(r"init=xavier_normal.*act=relu.*depth=30", page.url), page.url

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer-xavier-relu-depth30.png"), full_page=True)


def test_bad_value_shows_the_server_message(page: Page, base_url: str) -> None:
    page.goto(base_url + START)
    wait_for_layers(page, 20)
    error = page.locator("#error")
    expect(error).to_be_hidden()
    page.fill("#width", "0")
    expect(error).to_be_visible()
    expect(error).to_have_text("width must be an integer in [1, 2048], got 0")
    expect(page.locator("#width")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".charts")).to_have_class(re.compile(r"\bstale\b"))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer-error.png"))

    page.fill("#width", "64")
    expect(error).to_be_hidden()
    expect(page.locator("#width")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#layers tbody tr:first-child td").nth(0)).to_have_text("1")


def test_shared_url_restores_the_same_view(page: Page, browser: Browser, base_url: str) -> None:
    page.goto(base_url + START)
    wait_for_layers(page, 20)
    page.select_option("#init", "lecun_normal")
    page.select_option("#act", "leaky_relu")
    expect(page.locator("#slope-field")).to_be_visible()
    page.fill("#slope", "0.2")
    page.fill("#depth-num", "12")
    page.fill("#seed", "7")
    page.check("#bn")
    wait_for_layers(page, 12)
    # Pick layer 5 with the keyboard: focus its row and press Enter.
    page.focus("#layers tbody tr:nth-child(5)")
    page.keyboard.press("Enter")
    expect(page.locator("#layer")).to_have_value("5")
    expect(page.locator("#chart-hist")).to_contain_text("activation value at layer 5")
    expect(page.locator("#layers tbody tr:nth-child(5)")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#status")).not_to_contain_text("computing")
    shared = page.url
    assert "layer=5" in shared and "slope=0.2" in shared and "bn=1" in shared
    table = page.inner_text("#layers tbody")
    summary = page.inner_text("#summary")

    other = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    other.set_default_timeout(TIMEOUT_MS)
    other.goto(shared)
    wait_for_layers(other, 12)
    expect(other.locator("#chart-hist")).to_contain_text("activation value at layer 5")
    assert other.input_value("#init") == "lecun_normal"
    assert other.input_value("#act") == "leaky_relu"
    assert other.input_value("#slope") == "0.2"
    assert other.input_value("#depth-num") == "12" and other.input_value("#depth") == "12"
    assert other.input_value("#seed") == "7"
    assert other.is_checked("#bn")
    assert other.inner_text("#layers tbody") == table
    assert other.inner_text("#summary") == summary
    assert other.url == shared
    other.context.close()


def test_overlay_compares_inits_on_the_same_charts(page: Page, base_url: str) -> None:
    page.goto(base_url + START + "&act=relu&depth=25")
    wait_for_layers(page, 25)
    page.check("#overlay")
    legend = page.locator("#legend span")
    expect(legend).to_have_count(4)  # He normal, Xavier normal, random, theory
    expect(legend.nth(1)).to_have_text("Xavier normal")
    expect(page.locator("#std-field")).to_be_visible()  # random is overlaid: its std matters
    solid = page.locator("#chart-std path:not([stroke-dasharray='6 4'])")
    expect(solid).to_have_count(3)
    strokes = {solid.nth(i).get_attribute("stroke") for i in range(3)}
    assert len(strokes) == 3
    expect(page.locator("#summary-extra")).to_contain_text("Xavier normal")
    assert "overlay=1" in page.url and "inits=" in page.url
    # Clicking a chart column picks that layer for the histogram.
    page.locator("#chart-dead rect.pt[data-layer='3']").click()
    expect(page.locator("#layer")).to_have_value("3")
    expect(page.locator("#chart-hist")).to_contain_text("activation value at layer 3")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer-overlay.png"), full_page=True)


def test_controls_are_labelled_and_keyboard_reachable(page: Page, base_url: str) -> None:
    page.goto(base_url + START)
    wait_for_layers(page, 20)
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, button')]
            .filter(e => e.offsetParent !== null)
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                         && !(e.tagName === 'BUTTON' && e.textContent.trim()))
            .map(e => e.id || e.outerHTML)"""
    )
    assert unlabelled == []
    # Tab from the top reaches the init menu, the depth slider and the table rows.
    reached: set[str] = set()
    page.locator("body").focus()
    for _ in range(80):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("() => document.activeElement.id || document.activeElement.tagName"))
    assert {"init", "act", "depth", "width", "batch", "seed", "bn", "overlay"} <= reached
    assert "TR" in reached
    # Arrow keys on the slider change the depth.
    page.focus("#depth")
    page.keyboard.press("ArrowRight")
    wait_for_layers(page, 21)
