"""The sequence diagram and the coverage page, rendered by a real headless browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pykka
import pytest

import testkit
from failover_examples import coffee_machine
from fsm import FSM, Event, State

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


def test_a_dead_letter_is_drawn_as_a_crossed_arrow(tmp_path: Path) -> None:
    from tests import dead_letter_systems

    report = testkit.explore(dead_letter_systems.late_message, iterations=1, seed=1)
    assert report.bug is not None
    page = tmp_path / "dead_letter.html"
    page.write_text(testkit.sequence_diagram(dead_letter_systems.late_message, report.bug.trace))
    dom = _browser(page, "--dump-dom")
    assert 'class="msg dead"' in dom and "(dead letter)" in dom


@dataclass(frozen=True)
class Relay:
    hops: int
    order: str


class Station(FSM, pykka.ThreadingActor):
    """Passes each `Relay` on to the next station until its hops run out; the end of the
    line expects order o-1 before o-2."""

    def __init__(self, next_station: pykka.ActorRef[Any] | None) -> None:
        super().__init__()
        self.next_station = next_station
        self.start_with("relaying", ())
        self.when("relaying", self.relaying)
        self.initialize()

    def relaying(self, event: Event) -> State | None:
        match event:
            case Event(Relay(hops, order), _) if hops > 0 and self.next_station is not None:
                self.next_station.tell(Relay(hops - 1, order))
            case Event(Relay(0, order), arrived):
                assert arrived or order == "o-1", f"order {order} arrived first"
                return self.stay().using((*arrived, order))
        return self.stay()


def ten_lifelines(runtime: testkit.Runtime) -> None:
    """The test and nine stations: o-1 travels a line of eight, o-2 takes a side station
    to the same end; the end expects o-1 first."""
    stations: list[pykka.ActorRef[Any]] = []
    for _ in range(8):
        stations.append(Station.start(stations[-1] if stations else None))
    side = Station.start(stations[0])
    stations[7].tell(Relay(7, "o-1"))
    side.tell(Relay(1, "o-2"))


@pytest.fixture(scope="module")
def explained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = testkit.explore(ten_lifelines, iterations=20, seed=1, shrink=False)
    assert report.bug is not None
    why = report.bug.explain(ten_lifelines)
    assert why.decisive is not None
    page = tmp_path_factory.mktemp("explained") / "ten_lifelines.html"
    page.write_text(testkit.sequence_diagram(ten_lifelines, report.bug.trace, explanation=why))
    return page


def test_ten_lifelines_fit_a_1400_pixel_page_with_their_labels(explained: Path) -> None:
    dom = _browser(explained, "--window-size=1400,1000", "--dump-dom")
    widths = [int(w) for w in re.findall(r'<svg width="(\d+)" height="44"', dom)]
    assert widths and widths[0] <= 1400
    heads = re.findall(r'data-lifeline="([^"]+)"><rect[^>]*></rect><text[^>]*>([^<]*)</text>', dom)
    assert len(heads) == 10 and all(name == text for name, text in heads), heads
    assert "Relay(1, o-2)" in dom  # the arrow's payload, whole


def test_explained_page_marks_the_slice_and_decisive_steps_and_shows_the_passing_run(
    explained: Path,
) -> None:
    dom = _browser(explained, "--window-size=1400,1000", "--dump-dom")
    assert 'id="explanation"' in dom and "passes when" in dom
    assert 'data-decisive="' in dom and 'class="decisive-band"' in dom
    assert 'id="only-slice"' in dom and " out" in dom  # steps outside the slice are faded
    passing = _browser(explained, "--window-size=1400,1000", "--dump-dom").replace("\n", "")
    assert "Show the passing run" in passing
    shown = subprocess.run(
        [BROWSER or "", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
         explained.as_uri() + "#passing"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "PASSING RUN" in shown and "BUG:" not in shown.split('id="explanation"')[0][-400:]
    only = subprocess.run(
        [BROWSER or "", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
         explained.as_uri() + "#slice"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert only.count('class="msg') < dom.count('class="msg')  # only the slice is drawn
    SHOTS.mkdir(exist_ok=True)
    for name, view in (("explained", ""), ("explained-passing", "#passing")):
        shot = SHOTS / f"{name}.png"
        subprocess.run(
            [BROWSER or "", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--window-size=1400,1000", f"--screenshot={shot}", explained.as_uri() + view],
            capture_output=True, timeout=60, check=True,
        )  # fmt: skip
        assert shot.stat().st_size > 10_000
