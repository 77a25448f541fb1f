"""The sequence diagram and the coverage page, rendered by a real headless browser."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import testkit
from failover_examples import coffee_machine

BROWSER = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
pytestmark = pytest.mark.skipif(
    BROWSER is None,
    reason="no headless browser: install Debian's chromium (apt-get install chromium); "
    ".ci/run does so when it runs as root",
)
SHOTS = Path(__file__).resolve().parent.parent / "testkit-screenshots"


def _browser(page: Path, *args: str) -> str:
    assert BROWSER is not None
    done = subprocess.run(
        [
            BROWSER,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    report = testkit.explore(coffee_machine.execute, iterations=20, max_steps=2000, seed=3)
    assert report.bug is not None
    folder = tmp_path_factory.mktemp("pages")
    sequence = folder / "coffee_machine_bug.html"
    sequence.write_text(testkit.sequence_diagram(coffee_machine.execute, report.bug.trace))
    coverage = folder / "coffee_machine_coverage.html"
    coverage.write_text(report.coverage.to_html("coverage of the coffee machine"))
    return sequence, coverage


def test_sequence_diagram_renders_lifelines_arrows_and_the_bug(pages: tuple[Path, Path]) -> None:
    dom = _browser(pages[0], "--dump-dom")
    for name in (
        "test",
        "FailoverDriver#1",
        "MockSensors#1",
        "CoffeeMachine#1",
        "CoffeeMachine#2",
        "LivenessMonitor",
    ):
        assert f'data-lifeline="{name}"' in dom
    assert dom.count('class="msg') > 20  # arrows, drawn by the page's script
    assert 'data-from="test" data-to="FailoverDriver#1"' in dom
    assert 'id="bug"' in dom and "BUG: safety bug in MockSensors#1" in dom
    assert 'class="fold"' in dom
    SHOTS.mkdir(exist_ok=True)
    _browser(pages[0], "--window-size=1280,2400", f"--screenshot={SHOTS / 'sequence.png'}")
    assert (SHOTS / "sequence.png").stat().st_size > 10_000


def test_coverage_page_renders_state_diagrams(pages: tuple[Path, Path]) -> None:
    dom = _browser(pages[1], "--dump-dom")
    assert dom.count('<section class="machine"') == 4
    assert 'class="node unreached"' in dom and 'class="transition"' in dom
    SHOTS.mkdir(exist_ok=True)
    _browser(pages[1], "--window-size=1280,1400", f"--screenshot={SHOTS / 'coverage.png'}")
    assert (SHOTS / "coverage.png").stat().st_size > 10_000


def test_sequence_diagram_draws_faults(tmp_path: Path) -> None:
    from bench.bugs import lost_ack_write

    report = testkit.explore(lost_ack_write.buggy, 2000, 2000, seed=2, faults=lost_ack_write.FAULTS)
    assert report.bug is not None
    page = tmp_path / "lost_ack_write.html"
    page.write_text(testkit.sequence_diagram(lost_ack_write.buggy, report.bug.trace))
    dom = _browser(page, "--dump-dom")
    assert 'class="msg drop"' in dom and 'class="cross"' in dom  # a crossed-out arrow
    assert 'class="note crash"' in dom and "crashed" in dom  # a mark on the lifeline
    assert 'class="note restart"' in dom
    SHOTS.mkdir(exist_ok=True)
    shot = SHOTS / "sequence_faults.png"
    _browser(page, "--window-size=1280,1400", f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000
