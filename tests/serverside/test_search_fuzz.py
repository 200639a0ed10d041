"""Any query at all gets an answer, never a 500: random words of punctuation, quotes, wildcards,
FTS5 operators and odd characters, through the API and the page."""

from __future__ import annotations

import random

from fastapi.testclient import TestClient

from .dashboard_client import sign_in
from .helpers import ADMIN, report

ALPHABET = 'aZ_%\\"*^:()-+.,/<>\'`~!?#@{}[]|;=NEAROR 0\t\ufffd\u202eé漢🙂'


def test_random_queries_never_fail(client: TestClient) -> None:
    issue = report(client, error_name="KeyError", error_message="'protein_id' 50%_done \"NEAR\" (x OR y)")
    sign_in(client)
    rng = random.Random(27)
    for _ in range(100):
        query = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12)))
        answer = client.get("/api/v1/issues", params={"q": query, "status": "open"}, headers=ADMIN)
        assert answer.status_code == 200, (query, answer.text)
        page = client.get("/issues", params={"q": query})
        assert page.status_code == 200, query
    for query in ['"NEAR"', "(x OR y)", "50%_", "NEAR OR", '"', "%", "_d"]:
        found = client.get("/api/v1/issues", params={"q": query}, headers=ADMIN).json()["items"]
        assert [item["id"] for item in found] == [issue], query
