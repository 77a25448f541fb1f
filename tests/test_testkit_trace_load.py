"""`Trace.load` / `from_text` / `save`: every bad file is a clear TestkitError, never a crash."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testkit import Step, TestkitError, Trace

HEADER = "# testkit-trace 2\n# test: m:f\n# seed: 1\n# iteration: 3\n# max_steps: 50\n"


def load_error(tmp_path: Path, data: bytes | str) -> str:
    """The message of the TestkitError that loading `data` from a file raises."""
    path = tmp_path / "bad.trace"
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    with pytest.raises(TestkitError) as info:
        Trace.load(path)
    message = str(info.value)
    assert str(path) in message
    return message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (bytes(range(256)) * 4, "byte 128 is not UTF-8 text (a binary file?)"),
        (b"\xff\xfe#\x00 \x00t\x00", "byte 0 is not UTF-8 text (it looks like UTF-16"),
        (b"# testkit-trace 2\n0 start A\x00#1\n", "contains NUL bytes"),
        (b"", "is not a testkit trace (it is empty)"),
        (b"\n  \n", "is not a testkit trace (it is empty)"),
        (b"hello\n", "its first line should be '# testkit-trace 2'"),
    ],
)
def test_a_file_that_is_not_a_text_trace_is_named_in_a_clear_error(
    tmp_path: Path, data: bytes, expected: str
) -> None:
    assert expected in load_error(tmp_path, data)


def test_an_impossible_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TestkitError, match=r"cannot read trace 'a\\x00b': embedded null byte"):
        Trace.load("a\x00b")
    with pytest.raises(TestkitError, match=r"cannot read trace 'xxx.*File name too long"):
        Trace.load("x" * 5000)
    with pytest.raises(TestkitError, match="a trace path must be a str or a Path, got 5"):
        Trace.load(5)  # type: ignore[arg-type]
    with pytest.raises(TestkitError, match=r"cannot write the trace to 'a\\x00b.trace'"):
        sample().save("a\x00b")


def test_a_directory_or_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TestkitError, match=r"it is a directory; pass one of the .trace files"):
        Trace.load(tmp_path)
    with pytest.raises(TestkitError, match=r"cannot read trace .*missing.trace.*No such file"):
        Trace.load(tmp_path / "missing.trace")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("# seed: abc", "line 6: '# seed:' must be an integer, got 'abc'"),
        ("# seed: " + "9" * 5000, "line 6: '# seed:' must be an integer"),
        ("# max_steps: -1", "line 6: '# max_steps:' must be an integer >= 0, got '-1'"),
        ("# iteration: 0", "line 6: '# iteration:' must be an integer >= 1, got '0'"),
        ("# timer_delay: -3", "line 6: '# timer_delay:' must be an integer >= 0, got '-3'"),
        ("# liveness_threshold: 1.5", "line 6: '# liveness_threshold:' must be an integer"),
        ("# fair: maybe", "line 6: '# fair:' must be true or false, got 'maybe'"),
        ("zero start A#1", "line 6: expected '<step> <kind> <actor> ...', got 'zero start A#1'"),
        ("² start A#1", "line 6: expected '<step> <kind> <actor> ...'"),
        ("9" * 5000 + " start A#1", "line 6: expected '<step> <kind> <actor> ...'"),
        ("0 start", "line 6: expected '<step> <kind> <actor> ...', got '0 start'"),
        ("1 start A#1", "line 6: expected step 0, got step 1"),
        ("0 jump A#1", "line 6: unknown step kind 'jump'"),
        ("0 random A#1 random_int(3)", "line 6: a random step needs 'random_int(n)=v'"),
        ("0 random A#1 random_int(3)=1 extra", "line 6: a random step needs"),
        ("0 random A#1 random_int(100)=abc", "line 6: random_int(100) must be an integer in "
         "[0, 100), got 'abc'"),
        ("0 random A#1 random_int(100)=500", "random_int(100) must be an integer in [0, 100), "
         "got '500'"),
        ("0 random A#1 random_int(100)=-1", "random_int(100) must be an integer in [0, 100), "
         "got '-1'"),
        ("0 random A#1 random_int(100)=100", "got '100'"),
        ("0 random A#1 random_int(100)=" + "9" * 5000, "must be an integer in [0, 100)"),
        ("0 random A#1 random_int(0)=0", "line 6: random_int(n) needs an integer n >= 1, got n=0"),
        ("0 random A#1 random_int(" + "9" * 5000 + ")=1", "random_int(n) needs an integer n >= 1"),
        ("0 random A#1 random_bool()=maybe", "random_bool() must be True or False, got 'maybe'"),
    ],
)  # fmt: skip
def test_a_bad_header_value_or_step_names_its_line(
    tmp_path: Path, line: str, expected: str
) -> None:
    assert expected in load_error(tmp_path, HEADER + line + "\n")


def test_valid_random_steps_load_with_their_value_and_bound() -> None:
    text = HEADER + "0 random A#1 random_int(100)=99\n1 random test random_bool()=False\n"
    steps = Trace.from_text(text).steps
    assert (steps[0].value, steps[0].bound) == (99, 100)
    assert (steps[1].value, steps[1].bound) == (0, 2)


def test_format_1_counted_iterations_from_0_and_still_loads() -> None:
    old = HEADER.replace("testkit-trace 2", "testkit-trace 1").replace(
        "iteration: 3", "iteration: 0"
    )
    assert Trace.from_text(old).iteration == 1
    assert Trace.from_text(HEADER).iteration == 3
    trace = Trace.from_text(old)
    assert trace.to_text().startswith("# testkit-trace 2\n")
    assert "# iteration: 1\n" in trace.to_text()


def test_a_utf8_byte_order_mark_and_windows_line_ends_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "notepad.trace"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + "0 start A#1\n").replace("\n", "\r\n").encode())
    trace = Trace.load(path)
    assert trace.seed == 1 and [str(step) for step in trace.steps] == ["0 start A#1"]


def test_a_line_break_inside_a_repr_cannot_split_a_trace_line() -> None:
    step = Step(0, "deliver", "A#1", "Note", "Note('a\rb\u2028c\nd') @'idle'")
    assert str(step) == "0 deliver A#1 Note Note('a\\rb\\u2028c\\nd') @'idle'"
    trace = Trace([step], test="m:f", max_steps=5)
    assert [str(s) for s in Trace.from_text(trace.to_text()).steps] == [str(step)]


def test_from_text_of_bytes_is_a_clear_error() -> None:
    with pytest.raises(TestkitError, match=r"Trace.from_text needs a str, got bytes"):
        Trace.from_text(b"# testkit-trace 2\n")  # type: ignore[arg-type]


def sample() -> Trace:
    return Trace([Step(0, "start", "A#1")], test="m:f", strategy="pct:3", seed=7, iteration=2)


def test_save_into_a_directory_uses_the_trace_file_name(tmp_path: Path) -> None:
    trace = sample()
    assert trace.file_name() == "m_f-pct_3-seed7-it2.trace"
    written = trace.save(tmp_path)
    assert written == tmp_path / trace.file_name()
    assert Trace.load(written).to_text() == trace.to_text()
    new_dir = str(tmp_path / "new") + os.sep  # a trailing separator: a directory, created
    assert trace.save(new_dir) == tmp_path / "new" / trace.file_name()
    assert trace.save(tmp_path / "deep" / "x.trace").is_file()  # parents created


def test_save_where_a_file_blocks_the_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(TestkitError, match=r"cannot write the trace to .*file/x.trace.*writable"):
        sample().save(blocker / "x.trace")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_save_into_a_read_only_directory_is_a_clear_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(TestkitError, match=r"Permission denied; pass a writable file"):
            sample().save(locked)
    finally:
        locked.chmod(0o700)
