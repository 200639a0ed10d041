"""The fingerprint of an issue: one pure function, shared by the client and the server."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import pytest

from notebook_error_reporter.fingerprint import (
    checked_custom,
    fingerprint,
    normalise_message,
    of_report,
    place,
)


def frames(*pairs: Any) -> List[Dict[str, Any]]:
    return [{"filename": f, "fun_name": n, "lineno": line} for f, n, line in pairs]


PANDAS = ("pandas/core/frame.py", "__getitem__", 3761)


def key(
    message: str = "'protein_id'",
    tb: Optional[List[Dict[str, Any]]] = None,
    first_line: str = "# Load the structures",
    count: int = 3,
    error: str = "KeyError",
    notebook: str = "nb",
    custom: Optional[Sequence[str]] = None,
) -> str:
    return fingerprint(
        notebook=notebook,
        error_name=error,
        error_message=message,
        frames=frames(("<cell 3>", "<module>", 2), PANDAS) if tb is None else tb,
        first_line=first_line,
        execution_count=count,
        custom=custom,
    )


def test_cells_are_told_apart_by_their_first_line() -> None:
    other_cell = key("'api_url'", frames(("<cell 5>", "<module>", 2), PANDAS), "# Read the config", 5)
    assert key() != other_cell
    assert len(key()) == 64 and int(key(), 16) >= 0


def test_rerun_or_renumbered_cell_and_moved_lines_keep_the_issue() -> None:
    rerun = frames(("<cell 12>", "<module>", 9), ("pandas/core/frame.py", "__getitem__", 1))
    assert key(tb=rerun, count=12) == key()
    legacy = frames(("<ipython-input-12-0a1b2c>", "<module>", 2), PANDAS)
    assert key(tb=legacy, count=12) == key()
    assert key(first_line="# Load the structures, again") != key(), "an edited first line may split"


def test_the_same_place_with_different_data_is_one_issue() -> None:
    rows = frames(("<cell 8>", "<module>", 1))
    assert key("'row 17'", rows, "# Rows", 8) == key("'row 18'", rows, "# Rows", 8)
    keys = {
        key("division by zero", frames((f"<cell {n}>", "<module>", 3)), "# Ratios", n, "ZeroDivisionError")
        for n in range(1, 101)
    }
    assert len(keys) == 1


def test_notebook_error_and_frames_still_separate() -> None:
    assert key(notebook="other") != key()
    assert key(error="ValueError") != key()
    assert key(tb=frames(("<cell 3>", "<module>", 2), ("pandas/core/series.py", "__getitem__", 1))) != key()
    assert key(tb=frames(("<cell 3>", "<module>", 2))) != key()


def test_frames_of_another_cell_count_by_function_not_number() -> None:
    """A function defined in cell 2 and called from cell 5: cell 2 is re-run as cell 9 later."""
    before = frames(("<cell 5>", "<module>", 1), ("<cell 2>", "load", 4))
    after = frames(("<cell 11>", "<module>", 1), ("<cell 9>", "load", 4))
    assert key(tb=before, count=5) == key(tb=after, count=11)
    assert place(before, "# Use it", 5) == (("<cell: # Use it>", "<module>"), ("<cell>", "load"))
    other_function = frames(("<cell 5>", "<module>", 1), ("<cell 2>", "save", 4))
    assert key(tb=other_function, count=5) != key(tb=before, count=5)
    # The same function called from another cell is another place.
    assert key(tb=before, count=5, first_line="# Elsewhere") != key(tb=before, count=5)


def test_without_numbers_the_outermost_cell_frame_is_the_cell_that_ran() -> None:
    unnumbered = frames(("<cell>", "<module>", 1), ("<cell>", "load", 4))
    assert place(unnumbered, "# Run", -1) == (("<cell: # Run>", "<module>"), ("<cell>", "load"))
    numbered = frames(("<cell 4>", "<module>", 1), ("<cell 2>", "load", 4))
    assert place(numbered, "# Run", -1) == (("<cell: # Run>", "<module>"), ("<cell>", "load"))


def test_machinery_on_top_and_omission_markers_are_left_out() -> None:
    noisy = frames(
        ("IPython/core/interactiveshell.py", "run_code", 3553),
        ("<cell 3>", "<module>", 2),
        ("<omitted>", "<5 frames omitted>", 0),
        PANDAS,
    )
    assert key(tb=noisy) == key()
    only_machinery = frames(("IPython/core/interactiveshell.py", "run_code", 1))
    assert place(only_machinery, "", -1) == (("IPython/core/interactiveshell.py", "run_code"),)


def test_without_a_cell_frame_the_normalised_message_decides() -> None:
    lib = frames(("requests/adapters.py", "send", 519))
    missing_may = key("[Errno 2] No such file or directory: 'data/2024-05.csv'", [], "", -1, "OSError")
    missing_june = key("[Errno 2] No such file or directory: 'data/2024-06.csv'", [], "", -1, "OSError")
    refused = key("[Errno 111] Connection refused", [], "", -1, "OSError")
    assert missing_may == missing_june != refused
    assert key("HTTP 503 for /api/3f2a9c1e1b2c", lib, "", -1, "E") == key(
        "HTTP 500 for /api/77aa", lib, "", -1, "E"
    )
    assert key("timed out", lib, "", -1, "E") != key("refused", lib, "", -1, "E")
    # With a cell frame the message is data.
    cell = frames(("<cell 3>", "<module>", 2), ("requests/adapters.py", "send", 519))
    assert key("timed out", cell, "# Fetch", 3, "E") == key("refused", cell, "# Fetch", 3, "E")


@pytest.mark.parametrize(
    ("message", "normalised"),
    [
        (
            "[Errno 2] No such file or directory: '/home/ana/data.csv'",
            "[Errno <n>] No such file or directory: <value>",
        ),
        ("object at 0x7f3a2b1c is gone", "object at <hex> is gone"),
        ("run 3f2a9c1e-1b2c-4d5e-8f90-123456789abc failed", "run <id> failed"),
        ("job 5f9c2e1ab3d4 failed after 12.5 s", "job <id> failed after <n> s"),
        ("cannot read C:\\Users\\me\\f.csv or ./data/x.json", "cannot read <path> or <path>"),
        ("float64 is not   int32", "float64 is not int32"),
        ("line 3 of <cell 12>", "line <n> of <cell>"),
    ],
)
def test_normalised_messages(message: str, normalised: str) -> None:
    assert normalise_message(message) == normalised


def test_missing_modules_are_two_issues_even_in_one_cell() -> None:
    imports = frames(("<cell 1>", "<module>", 1))
    rdkit = key("No module named 'rdkit'", imports, "# Imports", 1, "ModuleNotFoundError")
    bio = key("No module named 'Bio'", imports, "# Imports", 1, "ModuleNotFoundError")
    assert rdkit != bio
    assert rdkit == key(
        "No module named 'rdkit'", frames(("<cell 7>", "<module>", 3)), "# Imports", 7, "ModuleNotFoundError"
    )


def test_a_custom_fingerprint_replaces_ours_and_default_stands_for_it() -> None:
    assert key(custom=["{{ default }}"]) == key()
    assert key(custom=["{{default}}"]) == key()
    assert key(custom=["database-down"]) == key(
        "'api_url'", frames(("<cell 5>", "<module>", 2)), "# Other", 5, custom=["database-down"]
    )
    assert key(custom=["database-down"]) != key(custom=["database-down"], notebook="other"), (
        "still per notebook"
    )
    assert key(custom=["{{ default }}", "eu"]) != key(custom=["{{ default }}", "us"])
    assert key(custom=["{{ default }}", "eu"]) != key(
        "x", frames(("<cell 9>", "f", 1)), "# X", 9, custom=["{{ default }}", "eu"]
    )


def test_custom_fingerprints_are_checked() -> None:
    assert checked_custom(None) is None
    assert checked_custom(["a", "b"]) == ("a", "b")
    for bad, words in (
        ("a", "list of strings"),
        ([], "1 to 10 parts"),
        (["x"] * 11, "1 to 10 parts"),
        ([1], "must be strings"),
        (["x" * 201], "at most 200"),
    ):
        with pytest.raises(ValueError, match=words):
            checked_custom(bad)


def test_of_report_reads_a_wire_format_report() -> None:
    report = {
        "notebook": "nb",
        "error_name": "KeyError",
        "error_message": "'protein_id'",
        "traceback": frames(("<cell 3>", "<module>", 2), PANDAS),
        "first_line": "# Load the structures",
        "execution_count": 3,
    }
    assert of_report(report) == key()
    assert of_report(dict(report, fingerprint=["x"])) == key(custom=["x"])
    assert len(of_report({})) == 64


def test_a_body_run_under_its_own_number_still_names_the_cell_that_ran() -> None:
    # %%capture and %%time run the cell's body as a cell of the next number: no frame has the
    # report's own, so the outermost cell frame is the one that ran, and its first line counts.
    body = frames(("<cell 8>", "<module>", 2))
    assert key("'chain'", body, "# Load the structures", 7) != key("'api_url'", body, "# Read the config", 7)
    rerun = frames(("<cell 12>", "<module>", 4))
    assert key("'chain'", body, "# Load", 7) == key("'other'", rerun, "# Load", 11)
    called = frames(("<cell 8>", "<module>", 2), ("<cell 3>", "helper", 1))
    assert key(tb=called, first_line="# A", count=7) != key(tb=called, first_line="# B", count=7)
