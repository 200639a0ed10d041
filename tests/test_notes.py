"""The author's notes on the client: what a server's list may contain, how a note is shown (escaped,
capped, one http(s) link), the offline copy, and the background refresh with ETags against a
real HTTP server."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path
from typing import List

from notes_server import NotesServer

from notebook_error_reporter import notes_cache
from notebook_error_reporter.notes import (
    MAX_NOTE_CHARS,
    Note,
    as_html,
    as_text,
    message_for,
    parse_notes,
)
from notebook_error_reporter.notes_fetch import NotesFetcher
from notebook_error_reporter.transport import HttpTransport

FP = "a" * 64
OTHER = "b" * 64


def one(entry: dict) -> Note:
    notes = parse_notes({"notes": [{"fingerprint": FP, **entry}]})
    assert notes is not None
    return notes[FP]


def test_only_well_formed_entries_are_kept() -> None:
    notes = parse_notes(
        {
            "notes": [
                {"fingerprint": FP, "note": "pin pandas"},
                {"fingerprint": "not-hex", "note": "x"},
                {"fingerprint": OTHER, "note": None, "note_url": None, "fixed_in_version": None},
                "junk",
            ]
        }
    )
    assert notes == {FP: Note(FP, "pin pandas")}
    assert parse_notes({"notes": "nope"}) is None and parse_notes(["x"]) is None


def test_a_note_with_markup_is_shown_as_text_and_a_javascript_link_is_dropped() -> None:
    note = one({"note": "<script>alert(1)</script> & <b>run</b>", "note_url": "javascript:alert(1)"})
    assert note.note_url is None
    html = as_html(message_for(note, None))  # type: ignore[arg-type]
    assert "<script>" not in html and "<b>run" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;run&lt;/b&gt;" in html
    assert "javascript" not in html and html.count("<a ") == 0


def test_the_link_is_the_only_element_and_its_quotes_are_escaped() -> None:
    note = one({"note": "see", "note_url": 'https://example.org/fix?a=1&b="x"><script>'})
    html = as_html(message_for(note, None))  # type: ignore[arg-type]
    assert html.count("<a ") == 1
    assert 'href="https://example.org/fix?a=1&amp;b=&quot;x&quot;&gt;&lt;script&gt;"' in html
    assert "<script>" not in html
    for bad in ("data:text/html,x", "//evil.example/x", "https://", "ftp://x/y", "https://a b/"):
        assert one({"note": "n", "note_url": bad}).note_url is None, bad


def test_a_note_is_capped_and_one_line_without_control_or_bidi_characters() -> None:
    note = one({"note": "x" * 2000})
    assert note.note is not None and len(note.note) == MAX_NOTE_CHARS and note.note.endswith("…")
    tricky = one({"note": "run\x1b[31m  this\r\n\n\tnow \u202eevil\u202c"})
    assert tricky.note == "run [31m this\nnow evil"  # line breaks kept, blank lines dropped
    many = one({"note": "\n".join(str(n) for n in range(30))})
    assert (
        many.note is not None
        and many.note.count("\n") == 9
        and many.note.endswith("9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29")
    )
    shown = message_for(one({"note": "first <i>\nsecond"}), None)
    assert shown is not None and "first &lt;i&gt;<br>second" in as_html(shown)
    assert "  first <i>\n  second" in as_text(shown)


def test_fixed_in_is_said_only_to_an_older_copy() -> None:
    note = one({"note": "renamed column", "fixed_in_version": "2026-12-01", "note_url": "https://x.org/n"})
    old = message_for(note, "2026-11-02")
    assert old is not None and old.fixed_in_version == "2026-12-01"
    assert "Fixed in version 2026-12-01 (this copy is version 2026-11-02)." in as_text(old)
    assert "https://x.org/n" in as_text(old)
    same = message_for(note, "2026-12-01")
    assert same is not None and same.fixed_in_version is None and same.note == "renamed column"
    unknown = message_for(note, None)
    assert unknown is not None and unknown.fixed_in_version is None
    only_fixed = one({"fixed_in_version": "1.4"})
    assert message_for(only_fixed, "1.10") is None  # 1.10 is newer than 1.4 (PEP 440, not text order)
    older = message_for(only_fixed, "1.3")
    assert older is not None and "Fixed in version 1.4" in as_text(older)
    assert message_for(None, "1.0") is None
    # Not PEP 440 on either side: the client cannot order them, so it names both when they differ.
    dated = message_for(one({"fixed_in_version": "copy of May"}), "1.3")
    assert dated is not None and "this copy is version 1.3" in as_text(dated)


def test_the_offline_copy_is_private_atomic_and_read_back(tmp_path: Path) -> None:
    path = notes_cache.cache_file(str(tmp_path), "http://s", "nb")
    notes = {FP: Note(FP, "pin pandas", "https://x.org", "2.0")}
    assert notes_cache.save(path, "http://s", "nb", '"e1"', notes)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert notes_cache.load(path, "http://s", "nb") == ('"e1"', notes)
    assert notes_cache.load(path, "http://other", "nb") == (None, {})  # another server's file
    assert [p.name for p in tmp_path.iterdir()] == [Path(path).name]  # no temp file left
    Path(path).write_text("{broken")
    assert notes_cache.load(path, "http://s", "nb") == (None, {})


def test_too_many_notes_are_not_written_and_the_old_copy_stays(tmp_path: Path) -> None:
    path = notes_cache.cache_file(str(tmp_path), "http://s", "nb")
    assert notes_cache.save(path, "http://s", "nb", None, {FP: Note(FP, "first")})
    huge = {f"{n:064x}": Note(f"{n:064x}", "y" * 500) for n in range(3000)}
    assert not notes_cache.save(path, "http://s", "nb", None, huge)
    assert notes_cache.load(path, "http://s", "nb")[1] == {FP: Note(FP, "first")}


def run_now(job) -> bool:  # type: ignore[no-untyped-def]
    job()
    return True


def fetcher(url: str, directory: Path) -> NotesFetcher:
    return NotesFetcher(
        url,
        "nb/one",
        transport=HttpTransport(),
        timeout=(2.0, 2.0),
        submit=run_now,
        cache_directory=lambda: str(directory),
        min_gap=0.0,
    )


def test_refresh_uses_the_etag_and_keeps_the_notes_when_the_server_goes_away(tmp_path: Path) -> None:
    with NotesServer() as server:
        server.store([{"notebook": "nb/one", "error_name": "KeyError", "error_message": "'x'"}])
        server.note_every_issue("pin pandas")
        first = fetcher(server.url, tmp_path)
        first.refresh()
        first.refresh()
        asked: List = server.note_requests()
        assert [a.status for a in asked] == [200, 304]
        assert asked[0].if_none_match is None and asked[1].if_none_match == first.etag
        assert asked[0].path == "/api/v1/notebooks/nb%2Fone/notes"
        (note,) = first.notes.values()
        assert note.note == "pin pandas"
    # A new kernel, the server down: the notes come from the offline copy.
    second = fetcher(server.url, tmp_path)
    second.refresh()
    assert second.notes == first.notes and second.etag == first.etag


def test_a_malformed_answer_keeps_the_last_notes(tmp_path: Path) -> None:
    with NotesServer() as server:
        server.store([{"notebook": "nb/one", "error_name": "KeyError"}])
        server.note_every_issue("pin pandas")
        kept = fetcher(server.url, tmp_path)
        kept.refresh()
        before = dict(kept.notes)
        server.notes_body = lambda notebook: json.dumps({"notes": 5}).encode()  # type: ignore[method-assign]
        kept.refresh()
        assert kept.notes == before


def test_started_it_refreshes_in_the_background_until_stopped() -> None:
    with NotesServer() as server:
        background = NotesFetcher(
            server.url,
            "nb",
            transport=HttpTransport(),
            timeout=(2.0, 2.0),
            submit=lambda job: threading.Thread(target=job, daemon=True).start() or True,
            cache_directory=lambda: None,
            interval=0.05,
            min_gap=0.0,
        )
        background.start()
        deadline = time.monotonic() + 10
        while len(server.note_requests()) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        background.stop()
        time.sleep(0.3)
        count = len(server.note_requests())
        assert count >= 3
        time.sleep(0.3)
        assert len(server.note_requests()) == count


def test_what_a_report_says_about_its_copy() -> None:
    from notebook_error_reporter.environment import colab_release, notebook_version

    tag = "release-colab_20261201-060131_RC00"
    assert colab_release({"COLAB_RELEASE_TAG": f" {tag}\n"}) == tag
    assert colab_release({}) is None and colab_release({"COLAB_RELEASE_TAG": "  "}) is None
    assert notebook_version({"NOTEBOOK_ERROR_REPORTER_VERSION": "1.4"}) == "1.4"
    assert notebook_version({"NOTEBOOK_ERROR_REPORTER_VERSION": "x" * 100}) == "x" * 64
    assert notebook_version({"NOTEBOOK_ERROR_REPORTER_VERSION": "1.4\x00"}) is None
