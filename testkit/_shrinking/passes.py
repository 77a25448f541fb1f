"""The shrink passes. Each proposes edits of the best candidate's units and keeps what the
`Shrinker` accepts; `run_passes` repeats them until a whole round changes nothing."""

from __future__ import annotations

from collections.abc import Callable

from testkit._shrinking.shrinker import Shrinker
from testkit._shrinking.units import Unit, without


def delete_chunks(shrinker: Shrinker) -> None:
    """Delete runs of `size` units, halving `size` from half the trace down to one unit; a
    deletion that works is retried at the same place (the next chunk moved into it)."""
    size = max(1, shrinker.best.editable // 2)
    while size >= 1 and not shrinker.done:
        index = 0
        while index < shrinker.best.editable and not shrinker.done:
            if not shrinker.consider(without(shrinker.best.units, index, index + size)):
                index += size
        size //= 2


def drop_actors(shrinker: Shrinker) -> None:
    """Delete every unit of one actor (its detour), then every firing of its timers."""
    labels = dict.fromkeys(unit.label for unit in shrinker.best.units)
    for label in labels:
        if shrinker.done:
            return
        units = shrinker.best.units
        shrinker.consider([u for u in units if u.label not in (label, f"timer {label}")])
        units = shrinker.best.units
        shrinker.consider([u for u in units if u.label != f"timer {label}"])


def drop_timer_firings(shrinker: Shrinker) -> None:
    """Delete one timer firing together with the delivery of its message, which other
    steps usually separate (a chunk cannot take both): a periodic tick that was not needed."""
    index = 0
    while index < shrinker.best.editable and not shrinker.done:
        best = shrinker.best
        firing = best.steps[best.starts[index]]
        if firing.kind == "timer":
            delivery = next(
                (
                    later
                    for later in range(index + 1, len(best.units))
                    if (step := best.steps[best.starts[later]]).kind == "deliver"
                    and step.actor == firing.actor
                    and step.what == firing.what
                ),
                None,
            )
            if delivery is not None:
                units = best.units
                kept = [*units[:index], *units[index + 1 : delivery], *units[delivery + 1 :]]
                if shrinker.consider(kept):
                    continue  # the next firing moved into this place
        index += 1


def lower_values(shrinker: Shrinker) -> None:
    """Lower each random value: to 0 if that works, else by binary search."""
    index = 0
    while index < shrinker.best.editable and not shrinker.done:
        for position in range(len(shrinker.best.units[index].values)):
            if shrinker.done or index >= len(shrinker.best.units):
                return
            unit = shrinker.best.units[index]
            if position >= len(unit.values) or unit.values[position] == 0:
                continue
            low, high = -1, unit.values[position]  # low fails (or is untried), high works
            while high - low > 1 and not shrinker.done:
                value = 0 if low < 0 else (low + high) // 2
                if _set_value(shrinker, index, position, value):
                    high = value
                else:
                    low = value
                if high == 0:
                    break
        index += 1


def _set_value(shrinker: Shrinker, index: int, position: int, value: int) -> bool:
    units = shrinker.best.units
    if index >= len(units) or position >= len(units[index].values):
        return False
    unit = units[index]
    values = (*unit.values[:position], value, *unit.values[position + 1 :])
    return shrinker.consider([*units[:index], Unit(unit.label, values), *units[index + 1 :]])


def move_earlier(shrinker: Shrinker) -> None:
    """Where a step ran another operation than the first enabled one, bring that one's next
    unit forward to run there instead (a delivery moved earlier, the others later)."""
    index = 0
    while index < shrinker.best.editable and not shrinker.done:
        best = shrinker.best
        enabled = best.enabled[best.starts[index]]
        chosen = best.units[index].label
        if enabled and enabled[0] != chosen:
            first = enabled[0]
            later = next(
                (j for j in range(index + 1, len(best.units)) if best.units[j].label == first),
                None,
            )
            if later is not None:
                units = best.units
                moved = [*units[:index], units[later], *units[index:later], *units[later + 1 :]]
                shrinker.consider(moved)
        index += 1


def swap_then_cut(shrinker: Shrinker) -> None:
    """Swap two neighbouring units of different operations, which alone shortens nothing,
    and keep the swap if the run then gets shorter: one step less in the cap (a monitor
    hot too long starts being hot a step earlier), or one unit nearby deleted."""
    index = 0
    while index + 1 < min(len(shrinker.best.units), shrinker.best.editable + 1):
        if shrinker.done:
            return
        units = shrinker.best.units
        if units[index].label != units[index + 1].label:
            swapped = [*units[:index], units[index + 1], units[index], *units[index + 2 :]]
            if shrinker.bound_liveness:
                shrinker.consider(swapped, shrinker.best.max_steps - 1)
            else:
                for cut in range(max(0, index - SWAP_REACH), index + 2 + SWAP_REACH):
                    if cut >= len(swapped) or shrinker.consider(without(swapped, cut, cut + 1)):
                        break
        index += 1


SWAP_REACH = 2
"""How far from a swap `swap_then_cut` looks for a unit to delete (each costs a run)."""


def lower_cap(shrinker: Shrinker) -> None:
    """For a monitor hot too long at max_steps: the lowest max_steps that still shows it.
    First the cap where the monitor has been hot for just the threshold, else bisection."""
    if not shrinker.bound_liveness:
        return
    hot_since = shrinker.best.hot_since
    threshold = shrinker.trace.liveness_threshold
    if hot_since is not None and shrinker.consider(shrinker.best.units, hot_since + threshold):
        return  # the same units run the same way under a lower cap: hot for too short
    low, high = 0, shrinker.best.max_steps
    while high - low > 1 and not shrinker.done:
        middle = (low + high) // 2
        if shrinker.consider(shrinker.best.units, middle):
            high = shrinker.best.max_steps
        else:
            low = middle


def lower_timer_delay(shrinker: Shrinker) -> None:
    """Lower the trace's timer delay (how many steps a timer may wait before it can fire;
    0: at once), so that timers fire earlier and the steps spent waiting for them go."""
    low, high = -1, shrinker.best.timer_delay  # low fails (or is untried), high works
    while high - low > 1 and not shrinker.done:
        delay = 0 if low < 0 else (low + high) // 2
        if shrinker.consider(shrinker.best.units, timer_delay=delay):
            high = shrinker.best.timer_delay
        else:
            low = delay


PASSES: tuple[Callable[[Shrinker], None], ...] = (
    lower_cap,
    lower_timer_delay,
    delete_chunks,
    drop_actors,
    drop_timer_firings,
    lower_values,
    move_earlier,
    swap_then_cut,
)


REORDERING: tuple[Callable[[Shrinker], None], ...] = (move_earlier, swap_then_cut)
"""The passes of the last phase: the length is already the shortest the passes reach, and
these are the ones that change the order (a default-order operation brought forward)."""


def run_passes(shrinker: Shrinker) -> None:
    """Run every pass in turn until a round leaves the best candidate as it was; then again
    preferring, at equal length, fewer deviations from the default order (a story with fewer
    preemptions), which never makes the trace longer."""
    _rounds(shrinker, PASSES)
    if shrinker.best.deviations and not shrinker.done:
        shrinker.fewer_deviations = True
        shrinker.tried.clear()  # reorderings refused for their order may now be kept
        _rounds(shrinker, REORDERING)


def _rounds(shrinker: Shrinker, passes: tuple[Callable[[Shrinker], None], ...]) -> None:
    while not shrinker.done:
        before = shrinker.best.key
        for shrink_pass in passes:
            shrink_pass(shrinker)
        if shrinker.best.key == before:
            return
