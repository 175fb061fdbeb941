"""Issue 8, item 8: eight simultaneous votes by one Party answer one 201 and seven 409s, never a 500.

A real server (uvicorn on a loopback port, in a thread) takes eight requests released at once by a barrier, so the
check-then-insert of "one vote per Party" really races; the database's unique constraint decides, and the loser's
IntegrityError (or, on SQLite, "database is locked") must come back as the sequential case's 409.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from gbsmart.app import create_app
from gbsmart.models.change import ChangeBoardVote, Proposal

VOTERS = 8


@pytest.fixture
def server_url(settings, clock, engine) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, on the test's database."""
    app = create_app(settings=settings, clock=clock, engine=engine)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


@pytest.fixture
def change_board(client, world) -> tuple[str, dict[str, str]]:
    """A Modification Proposal open for Change Board voting, and a Party user's headers."""
    secas = world.user("secas", "code_administrator", org=world.org("SECAS", kind="secas"))
    panel = world.user("panel", "panel_member")
    voter = world.user("bob", "party_user", org=world.org("Big Energy plc", category="large_supplier"))
    r = client.post("/api/v1/proposals", headers=secas, json={
        "title": "Self-governance change", "problem_statement": "A self-governance change to the Code wording.",
        "proposer_organisation": "SECAS"})
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    for who, step, extra in ((secas, "ready_to_convert", {"route": "report_phase"}), (panel, "convert", {}),
                             (panel, "set_path", {"path": "path_3"}), (panel, "open_mr_consultation", {}),
                             (secas, "close_mr_consultation", {}), (secas, "open_change_board", {})):
        r = client.post(f"/api/v1/proposals/{ref}/steps", headers=who, json={"step": step, **extra})
        assert r.status_code == 200, r.text
        ref = r.json()["reference"]
    return ref, voter


def _at_once(server_url: str, headers: dict[str, str], path: str, body: dict) -> list[httpx.Response]:
    """VOTERS copies of one POST, released together by a barrier."""
    barrier = threading.Barrier(VOTERS)

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=server_url, headers=headers, timeout=60) as http:
            barrier.wait()
            return http.post(path, json=body)

    with ThreadPoolExecutor(VOTERS) as pool:
        return list(pool.map(post, range(VOTERS)))


def test_simultaneous_duplicate_votes_are_one_201_and_seven_409(server_url, change_board, session) -> None:
    ref, voter = change_board
    responses = _at_once(server_url, voter, f"/api/v1/proposals/{ref}/votes", {"vote": "approve"})

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (VOTERS - 1), [(r.status_code, r.text[:200]) for r in responses]
    sequential = f"Big Energy plc has already voted (approve) on {ref}; one vote per Party."
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {sequential}
    with httpx.Client(base_url=server_url, headers=voter) as http:
        again = http.post(f"/api/v1/proposals/{ref}/votes", json={"vote": "approve"})
    assert again.status_code == 409 and again.json()["error"] == sequential
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(ChangeBoardVote)) == 1


def test_simultaneous_draft_proposals_never_answer_500(server_url, change_board, session) -> None:
    """Each new Draft Proposal takes the next DP number: two at once may want the same one; the loser is a 409."""
    _, voter = change_board
    responses = _at_once(server_url, voter, "/api/v1/proposals",
                         {"title": "Meters read wrong", "problem_statement": "A problem statement long enough."})
    assert {r.status_code for r in responses} <= {201, 409}, [(r.status_code, r.text[:200]) for r in responses]
    assert all("raise it again" in r.json()["error"] for r in responses if r.status_code == 409)
    session.expire_all()
    created = sum(r.status_code == 201 for r in responses)
    assert created >= 1 and session.scalar(select(func.count()).select_from(Proposal)) == created + 1
