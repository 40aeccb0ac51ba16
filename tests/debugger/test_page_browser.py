"""The debugger page in a real browser: Debian's chromium, headless, driven by Playwright.

Without chromium or Playwright these tests are skipped, saying why; in CI (CI=true),
where .ci/run installs chromium, they fail instead.
"""

import os
from pathlib import Path

import pytest

from harness import debugger
from harness.debugger import Panel, Recording
from harness.timeline import Step

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}; .ci/run should have installed it", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        _unavailable(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    assert page.errors == [], f"the page's script failed: {page.errors}"
    context.close()


def step_of(page) -> int:
    return int(page.get_attribute("body", "data-step"))


def cell(page, panel: str, column: str) -> list[str]:
    selector = f'.panel[data-title="{panel}"] td[data-column="{column}"]'
    return page.locator(selector).all_text_contents()


def test_the_page_opens_on_the_violation(page, page_file, recording):
    """the page opens on the step where the promise broke, marked as such"""
    page.goto(page_file.as_uri())
    assert step_of(page) == recording.violation
    assert page.input_value("#slider") == str(recording.violation)
    row = page.locator(f'g.row[data-step="{recording.violation}"]')
    assert "now" in row.get_attribute("class") and "violation" in row.get_attribute("class")
    assert "second time o-3 is charged" in page.text_content("#current")
    assert cell(page, "payment gateway: charges", "times charged") == ["2"]


def test_arrow_keys_reach_the_crash_where_the_delivery_is_back_redelivered(
    page, page_file, recording, tmp_path
):
    """from the first step, the right arrow reaches the crash: m3 is back, ready and redelivered"""
    page.goto(page_file.as_uri())
    page.keyboard.press("Home")
    assert step_of(page) == 0
    assert cell(page, "queue payments", "state") == ["ready"]
    assert cell(page, "queue payments", "redelivered") == ["no"]
    for _ in range(len(recording.steps)):
        if "✗" in page.text_content("#current"):
            break
        page.keyboard.press("ArrowRight")
    assert "crash after charge o-3" in page.text_content("#current")
    assert cell(page, "queue payments", "message") == ["m3 (o-3)"]
    assert cell(page, "queue payments", "state") == ["ready"]
    assert cell(page, "queue payments", "redelivered") == ["yes"]
    # Kept with pytest's temporary files (--basetemp=DIR to choose where), to look at.
    page.screenshot(path=str(tmp_path / "at-the-crash.png"), full_page=True)
    crash = step_of(page)
    page.keyboard.press("ArrowLeft")
    assert step_of(page) == crash - 1
    assert cell(page, "queue payments", "state") == ["unacked by consumer"]


def test_the_buttons_and_the_slider_move_between_steps(page, page_file, recording):
    page.goto(page_file.as_uri())
    last = len(recording.steps) - 1
    page.click("#first")
    assert step_of(page) == 0
    page.click("#prev")
    assert step_of(page) == 0, "previous on the first step stays there"
    page.click("#next")
    assert step_of(page) == 1
    page.click("#last")
    assert step_of(page) == last
    page.click("#next")
    assert step_of(page) == last, "next on the last step stays there"
    page.fill("#slider", "3")
    assert step_of(page) == 3
    page.focus("#slider")
    page.keyboard.press("ArrowRight")
    assert step_of(page) == 4, "an arrow key on the focused slider moves one step, not two"
    page.click("#violation")
    assert step_of(page) == recording.violation


def test_the_copy_button_copies_the_replay_line(page, page_file, recording):
    page.goto(page_file.as_uri())
    page.click("#copy")
    page.wait_for_function("document.getElementById('copied').textContent === 'copied'")
    assert page.evaluate("navigator.clipboard.readText()") == recording.replay
    assert page.text_content("#replay") == recording.replay


def test_the_page_fetches_nothing(page, page_file):
    """the page asks the network for nothing: its one request is the page itself"""
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(page_file.as_uri())
    page.keyboard.press("Home")
    page.keyboard.press("End")
    page.click("#copy")
    assert requests == [page_file.as_uri()]


def test_text_from_a_run_is_shown_never_run(page, tmp_path):
    """markup in a step, a panel or the verdict shows as text, and no script of it runs"""
    nasty = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
    recording = Recording(
        "a test",
        "t/-@s0",
        (Step(0.0, "consumer", "broker", nasty), Step(0.001, "consumer", "✗ crash", nasty)),
        ((Panel(nasty, ("cell",), [(nasty,)], nasty),), ()),
        observed=nasty,
        hint=nasty,
    )
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(debugger.write_page(tmp_path / "nasty.html", recording).as_uri())
    page.keyboard.press("Home")
    assert page.text_content("#observed") == nasty
    assert page.text_content("#hint") == nasty
    assert cell(page, nasty, "cell") == [nasty]
    assert nasty in page.text_content("#current")
    assert page.locator("img").count() == 0
    assert dialogs == []


def test_a_recording_without_steps_still_opens(page, tmp_path):
    recording = Recording("a test", "t/-@s0", (), (), observed="your code raised KeyError: 'x'")
    page.goto(debugger.write_page(tmp_path / "empty.html", recording).as_uri())
    page.keyboard.press("ArrowRight")
    assert page.text_content("#position") == "step 0 of 0"
    assert page.text_content("#current") == "no step was recorded"


def test_a_long_run_says_which_steps_it_left_out(page, tmp_path):
    """a loop's page numbers its steps as the run did, and one row says which are left out"""
    from harness.debugger.encoding import MOST_STEPS

    steps = tuple(Step(i / 1000, "consumer", "broker", f"ack tag={i}") for i in range(3000))
    recording = Recording("a loop", "t/-@s0", steps, ((),) * 3000, observed="stuck")
    page.goto(debugger.write_page(tmp_path / "loop.html", recording).as_uri())
    assert page.text_content("#position") == "step 3000 of 3000"
    left = 3000 - MOST_STEPS
    first = MOST_STEPS // 2 + 1
    gap = f"… {left:,} steps left out (steps {first}-{first + left - 1})"
    assert page.text_content("text.gap") == gap
    page.keyboard.press("Home")
    assert page.text_content("#position") == "step 1 of 3000"
