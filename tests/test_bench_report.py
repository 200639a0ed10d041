"""bench/run_all.py's pure parts: the Markdown table and the README marker replacement."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import run_all  # noqa: E402
from _figures import Figure  # noqa: E402

README_TEXT = """# Project

## Performance

Intro paragraph, kept.

<!-- bench:start -->
| figure | measured | baseline (same run) | goal |
|---|---|---|---|
| old row | 1 ms | — | — |
<!-- bench:end -->

## After

Trailing text, kept.
"""


def test_table_has_the_six_columns_and_one_row_per_figure_in_order() -> None:
    rows = [
        ("client_overhead", Figure("added per successful cell", "0.14 µs", goal="< 2 µs")),
        (
            "dashboard_render",
            Figure("issues page", "median 40.0 ms", "`GET /healthz` 2.0 ms", "20.0×", "< 200 ms"),
        ),
    ]
    lines = run_all.format_table(rows).splitlines()
    assert lines[0] == "| benchmark | figure | measured | baseline (same run) | ratio | goal |"
    assert lines[1] == "|---|---|---|---|---|---|"
    assert lines[2] == "| client_overhead | added per successful cell | 0.14 µs | — | — | < 2 µs |"
    assert lines[3] == (
        "| dashboard_render | issues page | median 40.0 ms | `GET /healthz` 2.0 ms | 20.0× | < 200 ms |"
    )
    assert len(lines) == 4


def test_table_escapes_pipes_and_flattens_line_breaks() -> None:
    table = run_all.format_table([("b", Figure("a | b", "1\n2 ms"))])
    assert table.splitlines()[2] == "| b | a \\| b | 1 2 ms | — | — | — |"


def test_empty_table_is_just_the_header() -> None:
    assert run_all.format_table([]).splitlines() == [
        "| benchmark | figure | measured | baseline (same run) | ratio | goal |",
        "|---|---|---|---|---|---|",
    ]


def test_heading_says_when_in_utc_and_where() -> None:
    when = datetime(2026, 12, 3, 10, 30, tzinfo=timezone.utc)
    line = run_all.heading(when, "Some CPU (2 cores, 7.8 GiB RAM), Python 3.11.2", quick=True)
    assert "2026-12-03 10:30 UTC" in line
    assert "Some CPU (2 cores, 7.8 GiB RAM), Python 3.11.2" in line
    assert "--quick" in line
    assert "--quick" not in run_all.heading(when, "x", quick=False)


def test_replacement_swaps_the_block_and_keeps_everything_outside() -> None:
    new = run_all.replace_between_markers(README_TEXT, "| new | table |\n")
    assert "old row" not in new
    before, after = README_TEXT.split("<!-- bench:start -->")[0], README_TEXT.split("<!-- bench:end -->")[1]
    assert new.startswith(before)
    assert new.endswith(after)
    assert "<!-- bench:start -->\n| new | table |\n<!-- bench:end -->" in new


def test_replacement_is_idempotent() -> None:
    once = run_all.replace_between_markers(README_TEXT, "block")
    assert run_all.replace_between_markers(once, "block") == once


@pytest.mark.parametrize(
    "text",
    [
        README_TEXT.replace("<!-- bench:start -->\n", ""),
        README_TEXT.replace("<!-- bench:end -->\n", ""),
        "no markers at all\n",
        README_TEXT + "<!-- bench:start -->\n",
    ],
    ids=["no-start", "no-end", "none", "start-twice"],
)
def test_missing_or_repeated_marker_raises(text: str) -> None:
    with pytest.raises(run_all.MarkersMissing, match="bench:"):
        run_all.replace_between_markers(text, "block")


def test_end_before_start_raises() -> None:
    swapped = "a\n<!-- bench:end -->\nb\n<!-- bench:start -->\nc\n"
    with pytest.raises(run_all.MarkersMissing, match="before"):
        run_all.replace_between_markers(swapped, "block")


def test_the_readme_has_its_markers() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    updated = run_all.replace_between_markers(readme, "X")
    assert updated.split("<!-- bench:start -->")[0] == readme.split("<!-- bench:start -->")[0]


def test_report_lists_rows_under_the_heading_and_notes_skipped_and_failed_benches() -> None:
    outcomes = [
        run_all.Outcome("client_overhead", [], rows=[Figure("scrubbing", "70 µs")]),
        run_all.Outcome("server_ingest (SQLite)", [], skipped="bench/server_ingest.py does not exist yet"),
        run_all.Outcome("dashboard_render", [], failure="exit status 1"),
    ]
    when = datetime(2026, 12, 3, 10, 30, tzinfo=timezone.utc)
    lines = run_all.report(outcomes, when, "CPU (2 cores)", quick=False).splitlines()
    assert "2026-12-03 10:30 UTC" in lines[0] and "CPU (2 cores)" in lines[0]
    assert "| client_overhead | scrubbing | 70 µs | — | — | — |" in lines
    assert "* server_ingest (SQLite): skipped (bench/server_ingest.py does not exist yet)" in lines
    assert "* dashboard_render: FAILED (exit status 1)" in lines


def test_a_missing_bench_file_is_skipped_without_running(tmp_path: Path) -> None:
    outcome = run_all.run("nothing", "no_such_bench.py", (), False, tmp_path)
    assert outcome.skipped == "bench/no_such_bench.py does not exist yet"
    assert outcome.rows == [] and outcome.failure == ""
