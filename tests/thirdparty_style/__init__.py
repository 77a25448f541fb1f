"""A small Pykka application written the way Pykka users write one (plain
`pykka.ThreadingActor`s, proxies, `ask().get()` in handlers, `ActorRegistry` look-ups,
unittest `TestCase`s with `setUp`/`tearDown`), with a seeded race its tests never show on
threads and `pytest --testkit-explore` finds.

Its own `pytest.ini` makes this directory a project of its own: the main suite does not
collect it (`collect_ignore` in `tests/conftest.py`); `tests/test_pytest_suite.py` runs it.
"""
