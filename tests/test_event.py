"""The pure event builder: names, frames, limits and the wire format, with no shell involved."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict

import pytest

from notebook_error_reporter.event import (
    MAX_MESSAGE_CHARS,
    TRUNCATION_MARK,
    UNPRINTABLE_MESSAGE,
    build_event,
    cell_name,
    raw_frames,
    select_frames,
)
from notebook_error_reporter.privacy import PrivacyContext
from notebook_error_reporter.types import ClientInfoType, EventMessageType

CONTEXT = PrivacyContext(home="/home/alice", user="alice", hostname="alice-laptop")
CLIENT: ClientInfoType = {"reporter": "0.2.0", "python": "3.11.7", "ipython": "9.0.0", "platform": "linux"}
WIRE_KEYS = set(EventMessageType.__required_keys__)  # "fingerprint" is only before_send's to set


def event_for(error: BaseException, raw_cell: str = "x", **kwargs: Any) -> EventMessageType:
    options: Dict[str, Any] = dict(
        raw_cell=raw_cell,
        execution_count=7,
        notebook="nb",
        session_id="s" * 32,
        context=CONTEXT,
        client=CLIENT,
    )
    options.update(kwargs)
    return build_event(error, **options)


def raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as caught:
        return caught


def test_event_has_exactly_the_wire_format_keys() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    event = event_for(raised(ValueError("bad")), occurred_at=when, event_id="e" * 32)
    assert set(event) == WIRE_KEYS
    assert event["occurred_at"] == "2026-01-02T03:04:05+00:00"
    assert event["event_id"] == "e" * 32
    assert event["client"] == CLIENT
    assert event["execution_count"] == 7


def test_error_name_is_the_qualified_class_name() -> None:
    class Outer:
        class Inner(Exception):
            pass

    assert event_for(Outer.Inner())["error_name"].endswith("Outer.Inner")
    assert event_for(KeyError("k"))["error_name"] == "KeyError"


def test_a_private_syntax_error_subclass_is_named_as_its_public_class() -> None:
    # Like Python 3.13's codeop._IncompleteInputError, raised by IPython for an incomplete cell.
    class _IncompleteInputError(SyntaxError):
        pass

    class _PrivateIndent(IndentationError):
        pass

    class _PrivateOther(ValueError):
        pass

    assert event_for(_IncompleteInputError("incomplete input"))["error_name"] == "SyntaxError"
    assert event_for(_PrivateIndent("unexpected indent"))["error_name"] == "IndentationError"
    assert event_for(_PrivateOther())["error_name"].endswith("_PrivateOther"), "only SyntaxErrors"


def test_ten_megabyte_message_is_cut_to_the_limit() -> None:
    event = event_for(ValueError("x" * 10_000_000))
    assert len(event["error_message"]) == MAX_MESSAGE_CHARS
    assert event["error_message"].endswith(TRUNCATION_MARK)


def test_message_exactly_at_the_limit_is_kept_whole() -> None:
    message = "y" * MAX_MESSAGE_CHARS
    assert event_for(ValueError(message))["error_message"] == message


def test_failing_str_gives_a_placeholder() -> None:
    class Cursed(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    event = event_for(Cursed())
    assert event["error_message"] == UNPRINTABLE_MESSAGE
    assert event["error_name"].endswith("Cursed")


def test_first_line_is_the_first_non_empty_line_scrubbed() -> None:
    event = event_for(ValueError(), raw_cell="\n\n   # Fold /home/alice/secret_protein.pdb  \nrest")
    assert event["first_line"].startswith("# Fold")
    assert "/home/alice" not in event["first_line"]
    assert "rest" not in event["first_line"]
    assert event_for(ValueError(), raw_cell="   \n\t\n")["first_line"] == ""


def test_a_leading_cell_magic_gives_way_to_the_first_line_of_its_body() -> None:
    event = event_for(ValueError(), raw_cell="%%time\n\n# Fit /home/alice/model\nmodel.fit(x)")
    assert event["first_line"].startswith("# Fit")
    assert "/home/alice" not in event["first_line"]
    assert event_for(ValueError(), raw_cell="%%capture out\n!pip install x")["first_line"] == "!pip install x"
    assert event_for(ValueError(), raw_cell="%%capture\n")["first_line"] == "%%capture"
    assert event_for(ValueError(), raw_cell="%%bash\ncurl example.org")["first_line"] == "%%bash"
    assert event_for(ValueError(), raw_cell="%time fit()\nmore")["first_line"] == "%time fit()"


def test_nothing_beyond_the_first_line_leaves() -> None:
    event = event_for(raised(ValueError("v")), raw_cell="# title\npassword = 'hunter2'\n")
    assert "hunter2" not in repr(event)


@pytest.mark.parametrize(
    "filename, expected",
    [
        ("<ipython-input-12-0123abcd>", "<cell 12>"),
        ("/tmp/ipykernel_4242/1234567.py", "<cell>"),
        ("/tmp/xpython_77/99.py", "<cell>"),
        ("/home/alice/analysis.py", None),
        ("<string>", None),
    ],
)
def test_cell_files_are_named_as_cells(filename: str, expected: Any) -> None:
    assert cell_name(filename, {}) == expected


def test_kernel_cell_map_gives_the_cell_number() -> None:
    assert cell_name("/tmp/ipykernel_1/55.py", {"/tmp/ipykernel_1/55.py": 3}) == "<cell 3>"


def test_ipython_machinery_is_dropped_from_the_top_only() -> None:
    site = "/usr/lib/python3.11/site-packages"
    frames = [
        (f"{site}/IPython/core/interactiveshell.py", "run_code", 3577),
        ("<ipython-input-4-ab>", "<module>", 1),
        (f"{site}/IPython/core/interactiveshell.py", "run_line_magic", 2583),
        (f"{site}/pandas/core/frame.py", "__getitem__", 10),
    ]
    details = select_frames(frames, context=CONTEXT, cell_filenames={})
    assert [d["filename"] for d in details] == [
        "<cell 4>",
        "IPython/core/interactiveshell.py",
        "pandas/core/frame.py",
    ]


def test_recursion_keeps_head_and_tail_and_counts_the_cut() -> None:
    frames = [("<ipython-input-1-a>", "<module>", 1)] + [
        ("/home/alice/deep.py", f"f{i}", i) for i in range(500)
    ]
    details = select_frames(frames, context=CONTEXT, cell_filenames={}, max_frames=10)
    assert len(details) == 11
    assert details[0]["filename"] == "<cell 1>"
    assert details[5] == {"filename": "<omitted>", "fun_name": "<491 frames omitted>", "lineno": 0}
    assert details[-1]["fun_name"] == "f499"


def test_frames_carry_no_directories() -> None:
    def inner() -> None:
        raise RuntimeError("boom")

    try:
        inner()
    except RuntimeError as error:
        event = event_for(error)
    assert event["traceback"][-1]["fun_name"] == "inner"
    assert not any(f["filename"].startswith("/") for f in event["traceback"])
    assert event["traceback"][-1]["filename"] == "test_event.py"


def test_raw_frames_walks_the_whole_chain() -> None:
    def a() -> None:
        b()

    def b() -> None:
        raise KeyError("k")

    try:
        a()
    except KeyError as error:
        names = [name for _, name, _ in raw_frames(error.__traceback__)]
    assert names[-2:] == ["a", "b"]


def test_syntax_error_points_at_its_cell_line() -> None:
    try:
        compile("x = (", "<ipython-input-9-ff>", "exec")
    except SyntaxError as error:
        event = event_for(error)
    assert event["traceback"][-1] == {"filename": "<cell 9>", "fun_name": "<module>", "lineno": 1}
    assert "<cell 9>" in event["error_message"]
    assert "ipython-input" not in event["error_message"]


@pytest.mark.parametrize(
    "source, kind", [("def f(:\n    pass", "SyntaxError"), ("if x:\npass", "IndentationError")]
)
def test_kernel_cell_files_are_named_as_cells_in_messages(source: str, kind: str) -> None:
    kernel_file = "/tmp/ipykernel_4242/396663807.py"
    try:
        compile(source, kernel_file, "exec")
    except SyntaxError as error:
        mapped = event_for(error, cell_filenames={kernel_file: 3, "/tmp/ipykernel_4242/12.py": 4})
        unmapped = event_for(error)
    assert mapped["error_name"] == unmapped["error_name"] == kind
    assert "(<cell 3>, line " in mapped["error_message"]
    assert "(<cell>, line " in unmapped["error_message"]
    assert "396663807" not in mapped["error_message"] + unmapped["error_message"]


def test_other_file_names_in_messages_are_kept() -> None:
    error = raised(ValueError("cannot import setup.py (1396663807.py, line 2) from x/12.py"))
    event = event_for(error, cell_filenames={"/tmp/ipykernel_1/12.py": 4, "/tmp/ipykernel_1/396663807.py": 5})
    assert event["error_message"] == "cannot import setup.py (1396663807.py, line 2) from x/12.py"


def test_building_an_event_has_no_ipython_or_http_imports() -> None:
    import notebook_error_reporter.event as event_module

    source = Path(event_module.__file__).read_text()
    for forbidden in ("import IPython", "from IPython", "import requests", "import socket", "open("):
        assert forbidden not in source
