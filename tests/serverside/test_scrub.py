"""The server's own privacy pass (``scrub.py``), on reports as a 0.1 client or a foreign one sends them.

The end-to-end version (real clients, real server, every read path) is ``test_privacy_e2e.py``; these
pin down the rule it found missing: the user name that a raw home path gives away is hidden in the
whole report, not only inside the path.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict

import pytest

from notebook_error_reporter.serverside import schemas
from notebook_error_reporter.serverside.scrub import (
    CACHED_TEXT_CHARS,
    CONTEXT,
    _remembered_scrub,
    clean_event,
    clean_legacy_event,
    home_owners,
    report_context,
)

from .helpers import make_event

NOW = datetime(2026, 12, 3, tzinfo=timezone.utc)


def legacy(**fields: Any) -> Dict[str, Any]:
    body: Dict[str, Any] = {"error_name": "PermissionError", "execution_count": 3, "first_line": "# x"}
    body.update(fields)
    return body


@pytest.mark.parametrize(
    ("text", "owners"),
    [
        ("[Errno 13] Permission denied: '/home/hkowalski/data.csv'", ("hkowalski",)),
        ("/Users/Hanna/Documents/a.py and /home/bob/b.py", ("Hanna", "bob")),
        ("C:\\Users\\carol\\work\\x.py", ("carol",)),
        ("'C:\\\\Users\\\\dave\\\\x.py'", ("dave",)),  # a repr inside a message: doubled separators
        ("d:/users/erin/x.py", ("erin",)),
        ("/Users/Shared/x.py, C:\\Users\\Public\\y.py", ()),  # folders of nobody in particular
        ("/opt/home/frank/x.py or ~/home/grace or /data/users/heidi", ()),  # not a home directory
        ("KeyError: 'alice'", ()),
        # hosted notebooks: Databricks' workspace and repos, Azure ML's cluster and user folder
        (
            "/Workspace/Users/hanna.k@lab.example/nb and /Workspace/Repos/hkowalski/r",
            ("hanna.k@lab.example", "hkowalski"),
        ),
        ("/mnt/batch/tasks/shared/LS_root/mounts/clusters/hk-gpu/code/Users/hanna/x.py", ("hk-gpu", "hanna")),
    ],
)
def test_home_owners_are_read_off_raw_home_paths(text: str, owners: tuple) -> None:
    assert home_owners(text) == owners


def test_a_report_without_home_paths_is_scrubbed_as_before() -> None:
    """Every report our client sends: no owner, the one context-free pass (the name cannot be known)."""
    assert report_context("KeyError: 'alice'", "# Load", "<cell 3>", "pandas/core/frame.py") == (CONTEXT,)


def test_a_01_report_hides_the_home_owner_everywhere() -> None:
    body = legacy(
        error_message="[Errno 13] Permission denied for hkowalski: '/home/hkowalski/trial/cohort.csv'",
        first_line="# Load the cohort of HKowalski",
        traceback=[
            {
                "filename": "/home/hkowalski/trial/hkowalski_tools.py",
                "fun_name": "load_hkowalski",
                "lineno": 4,
            },
        ],
    )
    event = clean_legacy_event(body, session_id="a" * 32, notebook="n", received_at=NOW)
    assert event.error_message == "[Errno 13] Permission denied for <user>: 'cohort.csv'"
    assert event.first_line == "# Load the cohort of <user>"
    assert event.traceback == ({"filename": "<user>_tools.py", "fun_name": "load_<user>", "lineno": 4},)


def test_a_raw_v1_report_hides_the_home_owner_everywhere() -> None:
    """A v1 client that is not ours (or a buggy one) gets the same treatment."""
    raw = make_event(
        error_message="could not write C:\\Users\\carol\\out.txt as carol",
        first_line="# carol's export",
        traceback=[{"filename": "C:\\Users\\carol\\carol_lib.py", "fun_name": "export", "lineno": 1}],
    )
    event = clean_event(schemas.EventCreate.model_validate(raw))
    assert event.error_message == "could not write out.txt as <user>"
    assert event.first_line == "# <user>'s export"
    assert event.traceback[0]["filename"] == "<user>_lib.py"


def test_a_shared_account_name_costs_no_ordinary_word() -> None:
    """``/home/user`` and ``/home/jovyan`` identify nobody: the words stay, only the paths go."""
    body = legacy(error_message="/home/user/data.csv: no such user; ask jovyan at /home/jovyan/x")
    event = clean_legacy_event(body, session_id="a" * 32, notebook="n", received_at=NOW)
    assert event.error_message == "data.csv: no such user; ask jovyan at x"


def test_a_remembered_message_is_scrubbed_again_under_another_report_s_user() -> None:
    """The scrubbed messages and first lines are remembered per text and per the report's user
    names: a text first seen without a home path is not kept as it was for a report that names one."""
    text = "no access for dana"
    plain = clean_event(schemas.EventCreate.model_validate(make_event(error_message=text, first_line=text)))
    named = clean_event(
        schemas.EventCreate.model_validate(
            make_event(
                error_message=text,
                first_line=text,
                traceback=[{"filename": "/home/dana/lib.py", "fun_name": "f", "lineno": 1}],
            )
        )
    )
    assert (plain.error_message, plain.first_line) == (text, text)
    assert (named.error_message, named.first_line) == ("no access for <user>", "no access for <user>")


def test_long_messages_are_scrubbed_but_not_remembered() -> None:
    """Only short texts are remembered, so that long unique ones cannot make the cache big."""
    long_text = "token " + "x" * CACHED_TEXT_CHARS + " dana@example.org"
    before = _remembered_scrub.cache_info().currsize
    event = clean_event(schemas.EventCreate.model_validate(make_event(error_message=long_text)))
    assert event.error_message.endswith(" <email>")
    assert _remembered_scrub.cache_info().currsize <= before + 1  # the first line only
