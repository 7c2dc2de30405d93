"""Accessibility of every page of a published month, checked in the real headless Chromium
(``/usr/bin/chromium``, driven by ``tests/helpers/chromium.py``) at desktop width (1280 px) and at 320 px
(WCAG 2.2 reflow: 1280 px at 400% zoom):

* axe-core (pinned in ``tests/axe/package.json`` and its lock file, installed from the npm
  registry into ``tests/axe/node_modules`` by ``npm ci`` here or by ``.ci/run``) finds no violation
  on the publication report, the two topic pages, the QA report and the index of releases;
* what axe does not test: no page scrolls sideways at 320 px (1.4.10), every table sits in a
  focusable, labelled region that scrolls on its own and can be scrolled from the keyboard, the
  focus style is GOV.UK Frontend's (1.4.11), printing opens every chart description, and no page
  asks for anything from the network.

The pages are those of the small month ``tests/conftest.py`` publishes (whichever renderer ran);
they are only read here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.helpers.chromium import CHROMIUM, Browser
from tests.helpers.paths import REPO

ROOT = REPO
AXE_DIR = ROOT / "tests" / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
MONTH = "2024-03"
WIDTHS = (1280, 320)

#: End-to-end (a published release in a real browser): `make test` runs it, `make test-fast` does not.
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed "
                                 "(.ci/run installs Debian's chromium)")]


def _pinned_axe_version() -> str:
    return json.loads((AXE_DIR / "package.json").read_text(encoding="utf-8"))["dependencies"]["axe-core"]


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's browser build, installed from the lock file when it is not there yet."""
    if not AXE_SCRIPT.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed: axe-core cannot be installed into tests/axe")
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=AXE_DIR,
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            pytest.fail("npm ci in tests/axe failed: " + " | ".join(tail))
    installed = json.loads((AXE_SCRIPT.parent / "package.json").read_text(encoding="utf-8"))["version"]
    pinned = _pinned_axe_version()
    assert installed == pinned, f"tests/axe has axe-core {installed}, not the pinned {pinned}"
    return AXE_SCRIPT.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pages(small_reports) -> dict[str, Path]:
    """The five pages of the published month, by name."""
    release = small_reports / MONTH
    found = {p.name: p for p in sorted((release / "html").glob("*.html"))}
    found["qa.html"] = release / "qa" / "qa.html"
    found["index.html"] = small_reports / "index.html"
    assert set(found) == {"publication.html", "long_term_support.html", "assessments.html", "qa.html", "index.html"}
    return found


@pytest.fixture(scope="module")
def browser():
    with Browser() as chromium:
        yield chromium


def _press(tab, key: str, code: str, key_code: int) -> None:
    for kind in ("keyDown", "keyUp"):
        tab.send("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": code,
                                            "windowsVirtualKeyCode": key_code, "nativeVirtualKeyCode": key_code})


def _luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# ------------------------------------------------------------------------------ axe-core


@pytest.mark.parametrize("width", WIDTHS)
def test_axe_finds_no_violations(pages, browser, axe_source, width, capsys):
    results = {}
    for name, path in pages.items():
        with browser.open(path.as_uri(), width=width) as tab:
            tab.evaluate(axe_source)
            outcome = json.loads(tab.evaluate(
                "axe.run(document).then(r => JSON.stringify({version: axe.version, passes: r.passes.length,"
                " incomplete: r.incomplete.map(v => v.id + ' (' + v.nodes.length + ')'),"
                " violations: r.violations.map(v => v.id + ' [' + v.impact + '] ' + v.nodes.length + ' nodes, first '"
                " + v.nodes[0].target.join(' '))}))", await_promise=True))
        assert outcome["version"] == _pinned_axe_version()
        results[name] = outcome
    with capsys.disabled():  # the axe result on each page, for the issue's closing note
        for name, r in results.items():
            print(f"\naxe-core {r['version']} at {width} px: {name}: {len(r['violations'])} violations, "
                  f"{r['passes']} rules passed, needs review: {', '.join(r['incomplete']) or 'none'}")
    violations = {name: r["violations"] for name, r in results.items() if r["violations"]}
    assert not violations, f"axe-core violations at {width} px: {violations}"


# ------------------------------------------------------------------------------ what axe does not test


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways(pages, browser, width):
    wide = {}
    for name, path in pages.items():
        with browser.open(path.as_uri(), width=width) as tab:
            scroll_width, viewport = tab.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if scroll_width > viewport:
            wide[name] = scroll_width
    assert not wide, f"pages wider than the {width} px viewport (1.4.10): {wide}"


_TABLE_REGIONS = """Array.from(document.querySelectorAll('table')).map(t => {
  const r = t.parentElement, label = document.getElementById(r.getAttribute('aria-labelledby') || '');
  return {id: t.id, region: r.matches('div.table-scroll[role="region"]'), tabindex: r.getAttribute('tabindex'),
          labelled_by_caption: label !== null && label === t.caption && label.textContent.trim().length > 0,
          overflow: getComputedStyle(r).overflowX, right: r.getBoundingClientRect().right,
          scrolls: r.scrollWidth > r.clientWidth};
})"""


def test_every_table_is_in_a_focusable_labelled_scroll_region(pages, browser):
    problems, scrolling = [], []
    for name, path in pages.items():
        with browser.open(path.as_uri(), width=320) as tab:
            tables = tab.evaluate(_TABLE_REGIONS)
            # Real keyboard focus: Tab through the page and note every region reached.
            reached = set()
            for _ in range(400):
                _press(tab, "Tab", "Tab", 9)
                focused = tab.evaluate("(e => e.matches('div.table-scroll') ? e.querySelector('table').id : "
                                       "(e === document.body ? '<body>' : ''))(document.activeElement)")
                if focused == "<body>" and reached:
                    break
                if focused and focused != "<body>":
                    reached.add(focused)
        for t in tables:
            if not (t["region"] and t["tabindex"] == "0" and t["labelled_by_caption"] and t["overflow"] == "auto"
                    and t["right"] <= 320):
                problems.append((name, t))
            if t["scrolls"]:
                scrolling.append((name, t["id"]))
        missed = {t["id"] for t in tables} - reached
        if missed:
            problems.append((name, f"regions the keyboard never reached: {sorted(missed)}"))
    assert not problems, problems
    # The wide tables of the finding scroll inside their region at 320 px, not the page.
    assert ("publication.html", "trend") in scrolling and ("assessments.html", "by_region") in scrolling, scrolling


def test_a_focused_table_region_scrolls_from_the_keyboard(pages, browser):
    with browser.open(pages["publication.html"].as_uri(), width=320) as tab:
        for _ in range(200):
            _press(tab, "Tab", "Tab", 9)
            if tab.evaluate("document.activeElement.matches('div.table-scroll') && "
                            "document.activeElement.querySelector('table').id === 'trend'"):
                break
        else:
            pytest.fail("Tab never reached the trend table's region")
        before = tab.evaluate("document.activeElement.scrollLeft")
        for _ in range(5):
            _press(tab, "ArrowRight", "ArrowRight", 39)
        after = before
        for _ in range(50):  # scrolling by key is animated: wait for it to move
            after = tab.evaluate("document.activeElement.scrollLeft")
            if after > before:
                break
            time.sleep(0.05)
        page_scroll = tab.evaluate("window.scrollX")
    assert before == 0 and after > 0, (before, after)
    assert page_scroll == 0


def test_focus_style_is_govuk_frontend(pages, browser):
    with browser.open(pages["publication.html"].as_uri(), width=1280) as tab:
        styles = {}
        for _ in range(200):
            _press(tab, "Tab", "Tab", 9)
            kind = tab.evaluate("(e => e.matches('a') ? 'link' : e.matches('div.table-scroll') ? 'region' : "
                                "e.matches('summary') ? 'summary' : '')(document.activeElement)")
            if kind and kind not in styles:
                styles[kind] = tab.evaluate(
                    "(s => ({background: s.backgroundColor, color: s.color, shadow: s.boxShadow,"
                    " outline: s.outlineColor + ' ' + s.outlineStyle + ' ' + s.outlineWidth}))"
                    "(getComputedStyle(document.activeElement))")
            if len(styles) == 3:
                break
        page_background = tab.evaluate("getComputedStyle(document.body).backgroundColor")
    assert set(styles) == {"link", "region", "summary"}, styles
    for kind in ("link", "summary"):
        s = styles[kind]
        # GOV.UK Frontend: #ffdd00 background, #0b0c0c text, #0b0c0c bar below (box-shadow 0 4px).
        assert s["background"] == "rgb(255, 221, 0)" and s["color"] == "rgb(11, 12, 12)", (kind, s)
        assert "rgb(11, 12, 12) 0px 4px 0px 0px" in s["shadow"], (kind, s)
    assert styles["region"]["outline"] == "rgb(11, 12, 12) solid 3px", styles["region"]
    # What stands out from the page is the bar below a link (the yellow alone is 1.35:1 on white,
    # the finding) and the region's outline: each at least 3:1 against the page (1.4.11).
    bar = re.search(r"(rgb\([\d, ]+\)) 0px 4px", styles["link"]["shadow"]).group(1)
    outline = styles["region"]["outline"].rsplit(" solid", 1)[0]
    assert _contrast(bar, page_background) >= 3 and _contrast(outline, page_background) >= 3, (bar, outline)


def test_printing_opens_every_chart_description(pages, browser):
    with browser.open(pages["publication.html"].as_uri(), width=1280) as tab:
        # Each chart description: [open, its text rendered (visible, and the details taller than their summary)].
        shown = ("Array.from(document.querySelectorAll('details.chart-description')).map(d =>"
                 " [d.open, d.querySelector('p').checkVisibility()"
                 " && d.getBoundingClientRect().height > d.querySelector('summary').getBoundingClientRect().height])")
        on_screen = tab.evaluate(shown)
        tab.send("Emulation.setEmulatedMedia", {"media": "print"})
        print_media = tab.evaluate(shown)
        tab.send("Emulation.setEmulatedMedia", {"media": ""})
        # A real print: what the details are when the print starts (this listener runs after the
        # page's own), and after it.
        tab.evaluate("window.addEventListener('beforeprint', () => { window.openAtPrint ="
                     " Array.from(document.querySelectorAll('details.chart-description')).map(d => d.open); })")
        pdf = tab.send("Page.printToPDF", {"printBackground": False})
        at_print = tab.evaluate("window.openAtPrint")
        after_print = tab.evaluate(shown)
    assert len(on_screen) >= 3 and on_screen == [[False, False]] * len(on_screen), on_screen
    # The print stylesheet shows the content of closed details (::details-content) ...
    assert print_media == [[False, True]] * len(on_screen), print_media
    # ... and the print script opens them for the print and closes them again.
    assert len(pdf["data"]) > 1000
    assert at_print == [True] * len(on_screen), at_print
    assert after_print == on_screen


@pytest.mark.parametrize("width", WIDTHS)
def test_pages_request_nothing_from_the_network(pages, browser, width):
    outside = {}
    for name, path in pages.items():
        with browser.open(path.as_uri(), width=width) as tab:
            urls = tab.requested_urls()
            images = tab.evaluate("Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length")
        assert urls and urls[0] == path.as_uri(), (name, urls[:1])
        remote = [u for u in urls if not u.startswith(("file:", "data:", "about:", "blob:"))]
        if remote:
            outside[name] = remote
        if name in ("publication.html", "long_term_support.html", "assessments.html"):
            assert images >= 1, name
    assert not outside, outside
