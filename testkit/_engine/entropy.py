"""The program's own randomness under the tester: `random`, `uuid4`, `os.urandom`, `secrets`.

While a sandbox is active, every value these draw on a thread the tester runs comes from the
iteration's seed, so replay draws the same values again. The draws are keyed, not taken from
one stream: each step of each operation (an actor's start, a delivery, a resumed handler; a
run of the test function) draws from a stream of its own, seeded by (the iteration's seed,
the actor's id, how many steps that actor had taken). A step the shrinker removes from one
actor leaves every other actor's values as they were, and nothing is recorded per draw: a
program that draws a million times pays no trace step for it. The trace's header has a
summary (`# entropy: <draws> <digest>`: how many draws, and which steps drew how often) that
replay compares.

What is controlled: the `random` module's functions (also when imported by name, except
`random()`, `getrandbits()` and `randbytes()` bound by `from random import random` before the
sandbox started: they still draw deterministically, from the stream of the step that drew
last), `random.Random()` and `Random.seed()` without a seed, `random.SystemRandom`,
`secrets`, `os.urandom` and `uuid.uuid4()` (`uuid.uuid1()` takes its time from the virtual
clock through freezegun and its clock sequence from `random`). A thread the tester does not
run draws real randomness.

A seed the program gives is kept: after `random.seed(x)` during a run (a test that seeds so
that a shuffle comes out as it expects), the module's functions draw, for the rest of the
iteration or until the next `random.seed()`, from one generator seeded with `x`, as they do
in Python: the same values in the order the schedule makes the draws, so replay draws them
again. (`random.Random(x)` instances were never taken over.)
"""

from __future__ import annotations

import os
import random
import threading
import uuid
import zlib
from collections import Counter
from typing import TYPE_CHECKING, Any

from fsm import _dispatch
from testkit._engine.test_body import CONTROLLED_THREADS

if TYPE_CHECKING:
    from testkit._engine.runtime import Runtime

_get_ident = threading.get_ident
_real = random.Random()  # draws for threads the tester does not run
_saved_urandom = os.urandom
_saved_seed = random.Random.seed
_module: Any = random
_MODULE_METHODS = ("random", "getrandbits", "randbytes")
"""The module's functions that are C methods of its hidden instance, bound at import: the
sandbox binds them again to the controlled class; every other function is a Python method
that calls these through `self`."""


class SeededRandom(random.Random):
    """A `random.Random` that also carries the iteration seed it was derived from (`origin`):
    the timer delays' generator, from which the runtime takes the seed of the program's own
    draws, so that every caller of an iteration passes both in one object."""

    def __init__(self, seed: int, origin: int) -> None:
        super().__init__(seed)
        self.origin = origin


_NO_STREAM = random.Random(0)
"""What `Entropy` holds before its first stream: shared, since seeding a generator per
iteration costs microseconds for one that is never drawn from."""


class Entropy:
    """One iteration's source of the program's random values, keyed per actor step."""

    __slots__ = (
        "_at",
        "_counts",
        "_digest",
        "_in_step",
        "_key",
        "_op",
        "_rng",
        "_scanned",
        "_stream_text",
        "draws",
        "program",
    )

    def __init__(self, seed: int) -> None:
        self._key = abs(seed) * 2 + (seed < 0)
        self._op: Any = None
        self._at = -1
        self._rng = _NO_STREAM  # never drawn from: `_at` matches no step before the first
        self._counts: Counter[Any] | None = None  # made at the first draw: most steps make none
        self._scanned = 0
        self._digest = 0
        self._in_step = 0  # draws from the current stream
        self._stream_text = ""  # the current stream's key, as the digest reads it
        self.draws = 0
        self.program: random.Random | None = None
        """The generator of the program's own `random.seed(x)` in this iteration, if any:
        the module's functions draw from it instead of the steps' streams."""
        uuid_module: Any = uuid
        uuid_module._last_timestamp = None  # uuid1's last time: per iteration, not per process

    def stream(self, runtime: Runtime) -> random.Random:
        """The stream of the operation running now, for one more draw."""
        ops = runtime.trace.ops
        at = len(ops)
        op = runtime.sender()
        self.draws += 1
        if at == self._at and op is self._op:
            self._in_step += 1
            return self._rng if self.program is None else self.program
        self._close()
        counts = self._counts
        if counts is None:
            counts = self._counts = Counter()
        if at > self._scanned:
            counts.update(ops[self._scanned : at])
            self._scanned = at
        body = runtime.body
        # the test function of a deterministic() block takes no steps of its own: its draws
        # are keyed by the step the run is at
        index = at if op is body and not body.started else counts[op]
        self._op, self._at, self._in_step = op, at, 1
        crc = zlib.crc32(str(op.id).encode())
        self._rng = random.Random((self._key << 96) | (crc << 64) | index)
        self._stream_text = f"{op.id}:{index}"
        return self._rng if self.program is None else self.program

    def _close(self) -> None:
        self._digest = self._mixed()

    def _mixed(self) -> int:
        """The digest with the current stream's draws counted in."""
        if self._op is None:
            return self._digest
        return zlib.crc32(f"{self._stream_text}:{self._in_step};".encode(), self._digest)

    def summary(self) -> str:
        """`<draws> <digest>` for the trace's header (which steps drew how many values), or
        "" when nothing drew."""
        return f"{self.draws} {self._mixed():08x}" if self.draws else ""


def _stream() -> random.Random | None:
    """The stream to draw from now, or None for real randomness (a thread the tester does
    not run, or no iteration running)."""
    if _get_ident() not in CONTROLLED_THREADS:
        return None
    runtime: Any = _dispatch.current()
    entropy = getattr(runtime, "entropy", None)
    if entropy is None:
        return None
    stream: random.Random = entropy.stream(runtime)
    return stream


class _Controlled(random.Random):
    """The class of the `random` module's hidden instance while a sandbox is active: its
    draws come from the running step's stream."""

    def random(self) -> float:
        stream = _stream()
        return (_real if stream is None else stream).random()

    def getrandbits(self, k: int, /) -> int:
        stream = _stream()
        return (_real if stream is None else stream).getrandbits(k)

    def randbytes(self, n: int) -> bytes:
        stream = _stream()
        return (_real if stream is None else stream).randbytes(n)


def _urandom(size: int, /) -> bytes:
    stream = _stream()
    if stream is None:
        return _saved_urandom(size)
    return stream.randbytes(size)


def _seed(self: random.Random, a: Any = None, version: int = 2) -> None:
    if self.__class__ is _Controlled:  # the module's own generator: `random.seed(...)`
        entropy = _entropy()
        if entropy is not None:
            if a is None:  # back to the steps' streams
                entropy.program = None
            else:  # the program's sequence, as Python would draw it
                program = random.Random()
                _saved_seed(program, a, version)
                entropy.program = program
            return
    if a is None:  # `Random()` or `seed()`: from the step's stream instead of the OS
        stream = _stream()
        if stream is not None:
            a = stream.getrandbits(64)
    _saved_seed(self, a, version)


def _entropy() -> Entropy | None:
    """The running iteration's `Entropy`, on a thread the tester runs; else None."""
    if _get_ident() not in CONTROLLED_THREADS:
        return None
    entropy: Entropy | None = getattr(_dispatch.current(), "entropy", None)
    return entropy


class Sources:
    """Puts the program's sources of randomness under the running iteration's seed, and
    gives them back (`restore`)."""

    def __init__(self) -> None:
        inst: Any = _module._inst
        random_class: Any = random.Random
        self._inst = inst
        self._class = inst.__class__
        self._state = inst.getstate()
        self._functions = {name: getattr(_module, name) for name in _MODULE_METHODS}
        self._seed = random_class.__dict__["seed"]
        self._urandom = os.urandom
        self._random_urandom = getattr(_module, "_urandom", os.urandom)
        inst.__class__ = _Controlled
        for name in _MODULE_METHODS:
            setattr(_module, name, getattr(inst, name))
        random_class.seed = _seed
        self._module_seed = _module.seed  # bound to the original `Random.seed` at import
        _module.seed = inst.seed
        os.urandom = _urandom
        _module._urandom = _urandom

    def restore(self) -> None:
        inst = self._inst
        inst.__class__ = self._class
        inst.setstate(self._state)
        for name, function in self._functions.items():
            setattr(_module, name, function)
        random_class: Any = random.Random
        random_class.seed = self._seed
        _module.seed = self._module_seed
        os.urandom = self._urandom
        _module._urandom = self._random_urandom


HASH_SEED = os.environ.get("PYTHONHASHSEED", "random")
"""This process's string hash seed as it started: PYTHONHASHSEED's value, or "random"."""


def hash_seed() -> str:
    """The hash seed a trace records: a number when this process's is fixed, else ""
    (a random one cannot be given to another process)."""
    value = HASH_SEED.strip()
    return value if value.isdigit() else ""
