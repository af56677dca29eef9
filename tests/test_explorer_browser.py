"""End-to-end: the explorer page in a real browser (Debian's Chromium driven by Playwright).

The server runs in-process on a free loopback port. Chromium must be installed at
``/usr/bin/chromium`` (``apt-get install chromium``; CI installs it): if it is missing these tests
FAIL rather than skip, because a skipped browser test would hide a broken page.
The numbers the page shows are compared with the API's JSON for the same view, fetched
separately. Screenshots are saved under ``test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
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
PAGE_ONLY = {"overlay", "inits"}  # query keys of the page that the probe endpoint does not take
expect.set_options(timeout=TIMEOUT_MS)
SUPERSCRIPT = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


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


def open_page(browser: Browser, width: int = 1366, height: int = 768) -> tuple[Page, list[str]]:
    context = browser.new_context(viewport={"width": width, "height": height})
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"{message.type}: {message.text}")

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    return opened, problems


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    opened, problems = open_page(browser)
    yield opened
    opened.context.close()
    # Any script error or policy violation (e.g. a resource from another origin) fails the test;
    # the 400 answers the tests provoke on purpose are logged by Chromium as failed resources.
    unexpected = [p for p in problems if "status of 400" not in p]
    assert unexpected == []


def last_row() -> str:
    return "#layers tbody tr:last-child"


def ticks(page: Page, chart: str, axis: str = "y") -> list[str]:
    labels = page.get_attribute(f"#chart-{chart}", f"data-{axis}ticks")
    assert labels, chart
    return labels.split("|")


def decades(page: Page, chart: str) -> list[int]:
    """The powers of ten labelled on a log-scale chart's y axis (``10⁻⁴`` -> -4, ``1`` -> 0)."""
    out = []
    for label in ticks(page, chart):
        if label == "1":
            out.append(0)
        elif label == "10":
            out.append(1)
        else:
            match = re.fullmatch(r"10(-?\d+)", label.translate(SUPERSCRIPT))
            assert match, label
            out.append(int(match.group(1)))
    return out


def wait_for_layers(page: Page, count: int) -> None:
    expect(page.locator("#layers tbody tr")).to_have_count(count)


def settled(page: Page) -> None:
    """Wait until the results on screen are those of the current controls."""
    page.wait_for_function(
        "() => window.__explorer && window.__explorer.renders > 0 && "
        "document.getElementById('status').textContent.indexOf('computing') < 0"
    )


def api_for(page: Page, base_url: str) -> Any:
    """The API's JSON for the view in the page's URL, fetched outside the browser."""
    params = [(k, v) for k, v in parse_qsl(urlsplit(page.url).query) if k not in PAGE_ONLY]
    response = httpx.get(base_url + "api/probe", params=params, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def _half_up(value: float, exponent: int) -> Decimal:
    """``value`` rounded at ``10**exponent`` as JavaScript does: the exact binary value, ties away."""
    return Decimal(value).quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)


def js_fmt(value: float | None) -> str:
    """The page's number format: 3 significant digits, exponent outside [1e-3, 1e4)."""
    if value is None:
        return "—"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    rounded = _half_up(value, magnitude - 2)
    if rounded != 0 and math.floor(math.log10(abs(rounded))) > magnitude:  # 9.995 -> 10.0
        magnitude += 1
        rounded = _half_up(value, magnitude - 2)
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        mantissa = rounded.scaleb(-magnitude).quantize(Decimal("0.01"))
        return f"{mantissa}e{magnitude:+d}"
    text = format(rounded.normalize(), "f")
    return text


def js_pct(value: float | None) -> str:
    return "—" if value is None else str(_half_up(100 * value, -1))


def table(page: Page) -> list[list[str]]:
    rows = page.eval_on_selector_all(
        "#layers tbody tr", "rows => rows.map(r => [...r.children].map(c => c.textContent))"
    )
    return [list(row) for row in rows]


def assert_table_matches_api(page: Page, body: Any) -> None:
    rows = table(page)
    assert len(rows) == len(body["layers"])
    for row, layer in zip(rows, body["layers"], strict=True):
        expected = [
            str(layer["layer"]),
            js_fmt(layer["pre_std"]),
            js_fmt(layer["post_std"]),
            js_fmt(layer["theory_post_std"]),
            js_fmt(layer["grad_std"]),
            js_fmt(layer["theory_grad_std"]),
            js_fmt(layer["pre_corr"]),
            js_pct(layer["dead_units_fraction"]),
            js_pct(layer["dead_fraction"]),
            layer["forward_health"],
            layer["backward_health"],
        ]
        assert row == expected, (row, expected)


# ---------- verdicts and numbers ----------


def test_he_to_xavier_with_relu_at_depth_30_vanishes(page: Page, base_url: str) -> None:
    page.goto(base_url + START)
    wait_for_layers(page, 20)  # the default depth
    page.select_option("#act", "relu")
    page.fill("#depth-num", "30")
    wait_for_layers(page, 30)
    expect(page.locator(last_row() + " td:nth-last-child(2) .badge")).to_have_text("healthy")
    expect(page.locator("#summary")).not_to_contain_text("vanish")
    settled(page)
    assert min(decades(page, "std")) >= -2
    assert_table_matches_api(page, api_for(page, base_url))

    page.select_option("#init", "xavier_normal")
    expect(page.locator(last_row() + " td:nth-last-child(2) .badge")).to_have_text("vanishing")
    expect(page.locator("#summary")).to_contain_text("vanish")
    expect(page.locator(".summary")).to_have_class(re.compile(r"\bh-vanishing\b"))
    settled(page)
    # ReLU halves the variance per layer under Xavier: std ~ 2**-15 at layer 30.
    assert min(decades(page, "std")) <= -4
    assert re.search(r"init=xavier_normal.*act=relu.*depth=30", page.url), page.url
    assert_table_matches_api(page, api_for(page, base_url))

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer-xavier-relu-depth30.png"), full_page=True)


def test_exploding_gradient_under_batch_norm_is_not_painted_healthy(page: Page, base_url: str) -> None:
    page.goto(base_url + "?act=relu&bn=1&depth=60&width=64&batch=64")
    wait_for_layers(page, 60)
    settled(page)
    body = api_for(page, base_url)
    backward = [layer["backward_health"] for layer in body["layers"]]
    assert "exploding" in backward  # the probe's verdict: gradients explode under BatchNorm
    expect(page.locator("#summary-health [data-pass='backward']")).to_have_text("backward: exploding")
    expect(page.locator(".summary")).to_have_class(re.compile(r"\bh-exploding\b"))
    shown = page.eval_on_selector_all(
        "#layers tbody td:last-child .badge", "bs => bs.map(b => b.textContent)"
    )
    assert shown == backward
    rows = page.eval_on_selector_all("#layers tbody tr", "rs => rs.map(r => r.className)")
    assert rows == ["h-" + layer["health"] for layer in body["layers"]]
    assert_table_matches_api(page, body)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer-bn-depth60.png"))


def test_axes_show_decades_and_a_histogram_tick_of_zero(page: Page, base_url: str) -> None:
    page.goto(base_url + START + "&init=xavier_normal&act=tanh&depth=40")
    wait_for_layers(page, 40)
    settled(page)
    for chart in ("std", "grad"):
        exponents = decades(page, chart)
        steps = {b - a for a, b in itertools.pairwise(exponents)}
        assert len(exponents) >= 2 and len(steps) == 1 and steps.pop() in (1, 2, 5, 10, 20), exponents
    hist = ticks(page, "hist", "x")
    assert "0" in hist, hist
    assert not any("e-" in t for t in hist), hist
    layer = int(page.get_attribute("#readout-hist", "data-layer") or 0)
    assert layer == 40
    expect(page.locator("#hist-caption")).to_have_text("activation value at layer 40")


def test_correlation_chart_follows_the_api(page: Page, base_url: str) -> None:
    page.goto(base_url + START + "&act=tanh&depth=15")
    wait_for_layers(page, 15)
    settled(page)
    body = api_for(page, base_url)
    assert all(layer["pre_corr"] is not None for layer in body["layers"])
    corr = [row[6] for row in table(page)]
    assert corr == [js_fmt(layer["pre_corr"]) for layer in body["layers"]]
    series = page.evaluate("() => window.__explorer.series.corr")
    assert series == ["He normal", "He normal (theory)"]


def test_the_page_says_which_stream_drew_the_numbers(page: Page, base_url: str) -> None:
    page.goto(base_url + START + "&depth=5&seed=7")
    wait_for_layers(page, 5)
    settled(page)
    expect(page.locator("#status")).to_contain_text("counter stream, seed 7")
    counter = api_for(page, base_url)
    assert "stream=counter" in page.url and counter["config"]["stream"] == "counter"
    assert_table_matches_api(page, counter)
    page.select_option("#stream", "generator")
    expect(page.locator("#status")).to_contain_text("NumPy Generator, seed 7")
    settled(page)
    generator = api_for(page, base_url)
    assert "stream=generator" in page.url and generator["config"]["stream"] == "generator"
    assert generator["layers"] != counter["layers"]
    assert_table_matches_api(page, generator)


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


# ---------- URL, history, sharing ----------


def test_back_undoes_each_settled_change(page: Page, base_url: str) -> None:
    page.goto(base_url + START)
    wait_for_layers(page, 20)
    settled(page)
    start_length = page.evaluate("() => history.length")
    page.select_option("#act", "tanh")
    expect(page).to_have_url(re.compile(r"act=tanh"))
    page.fill("#depth-num", "12")
    wait_for_layers(page, 12)
    expect(page).to_have_url(re.compile(r"depth=12"))
    assert page.evaluate("() => history.length") == start_length + 2

    page.go_back()
    wait_for_layers(page, 20)
    assert page.input_value("#act") == "tanh" and page.input_value("#depth-num") == "20"
    page.go_back()
    expect(page.locator("#act")).to_have_value("relu")
    assert "act=relu" in page.url
    page.go_forward()
    expect(page.locator("#act")).to_have_value("tanh")
    settled(page)
    assert_table_matches_api(page, api_for(page, base_url))


def test_copy_link_is_above_the_fold_at_1280x900(browser: Browser, base_url: str) -> None:
    opened, problems = open_page(browser, 1280, 900)
    opened.goto(base_url + START)
    wait_for_layers(opened, 20)
    button = opened.locator("#copy-link")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 900 and box["x"] + box["width"] <= 1280
    ARTIFACTS.mkdir(exist_ok=True)
    opened.screenshot(path=str(ARTIFACTS / "explorer-1280x900.png"))
    opened.context.close()
    assert problems == []


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
    settled(page)  # the rows must not be redrawn by a late answer while layer 5 is picked
    # Pick layer 5 with the keyboard: focus its row and press Enter.
    page.focus("#layers tbody tr:nth-child(5)")
    page.keyboard.press("Enter")
    expect(page.locator("#layer")).to_have_value("5")
    expect(page.locator("#hist-caption")).to_have_text("activation value at layer 5")
    expect(page.locator("#layers tbody tr:nth-child(5)")).to_have_attribute("aria-selected", "true")
    settled(page)
    expect(page).to_have_url(re.compile(r"layer=5"))
    shared = page.url
    assert "layer=5" in shared and "slope=0.2" in shared and "bn=1" in shared
    rows = table(page)
    summary = page.inner_text("#summary")

    other = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    other.set_default_timeout(TIMEOUT_MS)
    other.goto(shared)
    wait_for_layers(other, 12)
    expect(other.locator("#hist-caption")).to_have_text("activation value at layer 5")
    assert other.input_value("#init") == "lecun_normal"
    assert other.input_value("#act") == "leaky_relu"
    assert other.input_value("#slope") == "0.2"
    assert other.input_value("#depth-num") == "12" and other.input_value("#depth") == "12"
    assert other.input_value("#seed") == "7"
    assert other.is_checked("#bn")
    assert table(other) == rows
    assert other.inner_text("#summary") == summary
    assert other.url == shared
    assert_table_matches_api(other, api_for(other, base_url))
    other.context.close()


# ---------- overlay, picking, phase diagram ----------


def test_overlay_compares_inits_on_the_same_charts(page: Page, base_url: str) -> None:
    page.goto(base_url + START + "&act=relu&depth=25")
    wait_for_layers(page, 25)
    page.check("#overlay")
    legend = page.locator("#legend span")
    expect(legend).to_have_count(4)  # He normal, Xavier normal, random, theory
    expect(legend.nth(1)).to_have_text("Xavier normal")
    expect(page.locator("#std-field")).to_be_visible()  # random is overlaid: its std matters
    expect(page.locator("#summary-extra")).to_contain_text("Xavier normal")
    settled(page)
    series = page.evaluate("() => window.__explorer.series.std")
    assert [s for s in series if "theory" not in s] == ["He normal", "Xavier normal", "Random N(0, std²)"]
    assert "overlay=1" in page.url and "inits=" in page.url
    # Clicking a chart at layer 3 picks that layer for the histogram.
    box = page.locator("#chart-dead .u-over").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] * 2 / 24, box["y"] + box["height"] / 2)
    expect(page.locator("#layer")).to_have_value("3")
    expect(page.locator("#hist-caption")).to_have_text("activation value at layer 3")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer-overlay.png"), full_page=True)


def test_clicking_the_phase_diagram_sets_gain_and_bias(page: Page, base_url: str) -> None:
    page.goto(base_url + START + "&act=tanh&depth=10")
    wait_for_layers(page, 10)
    readout = page.locator("#readout-phase")
    expect(readout).to_contain_text("χ₁ =", timeout=120_000)  # the first diagram of an activation
    canvas = page.locator("#phase")
    box = canvas.bounding_box()
    assert box is not None
    canvas.click(position={"x": box["width"] * 0.75, "y": box["height"] * 0.3})
    expect(page).to_have_url(re.compile(r"gain=[0-9.]+.*bias=[0-9.]+"))
    gain, bias = float(page.input_value("#gain")), float(page.input_value("#bias"))
    assert 1.2 < gain**2 < 4.0 and 0.0 < bias**2 <= 0.5
    settled(page)
    body = api_for(page, base_url)
    assert body["config"]["gain"] == gain and body["config"]["bias_std"] == bias
    expect(readout).to_contain_text(f"\N{GREEK SMALL LETTER SIGMA}w\N{SUPERSCRIPT TWO} = {js_fmt(gain**2)}")
    point = page.get_attribute("#phase", "data-point") or ""
    w2, b2 = (float(v) for v in point.split(","))
    assert math.isclose(w2, gain**2, rel_tol=1e-9) and math.isclose(b2, bias**2, rel_tol=1e-9)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "explorer-phase.png"), full_page=True)


def test_dragging_the_depth_slider_redraws_while_dragging(page: Page, base_url: str) -> None:
    page.goto(base_url + "?width=32&batch=32&depth=10")
    wait_for_layers(page, 10)
    settled(page)
    before = page.evaluate("() => [window.__explorer.renders, history.length]")
    box = page.locator("#depth").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.09, y)
    page.mouse.down()
    for step in range(1, 13):
        page.mouse.move(box["x"] + box["width"] * (0.09 + 0.03 * step), y)
        page.wait_for_timeout(120)
    during = page.evaluate("() => [window.__explorer.renders, history.length]")
    page.mouse.up()
    settled(page)
    after = page.evaluate("() => history.length")
    assert during[0] - before[0] >= 3  # redrawn several times before the mouse was released
    assert during[1] == before[1]  # no history entry per intermediate depth ...
    assert after == before[1] + 1  # ... one for the released position
    assert_table_matches_api(page, api_for(page, base_url))


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
    assert {"copy-link", "init", "act", "depth", "width", "batch", "seed", "bn", "overlay"} <= reached
    assert "TR" in reached
    # Arrow keys on the slider change the depth.
    page.focus("#depth")
    page.keyboard.press("ArrowRight")
    wait_for_layers(page, 21)
