"""Officer-only functions (issue 15 point 2, DP108): the ones named in ``officer_only_functions`` are refused to
anyone but a Senior or Authorised Responsible Officer of the organisation signed in with a second factor, whatever
the door (page, API, CLI), and a refusal changes nothing. Its ARO releases a quarantined request with a signed file."""

from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select
from typer.testing import CliRunner

from gbsmart.app import create_app
from gbsmart.cli import app as cli
from gbsmart.config import Settings
from gbsmart.core.context import Actor, Ctx
from gbsmart.core.errors import Forbidden
from gbsmart.gateway import adt_service
from gbsmart.gateway.adt import sign_file
from gbsmart.models.adt import QuarantinedRequest
from gbsmart.models.gateway import GatewayMessage
from gbsmart.models.parties import DccUser, DccUserRole, Person
from tests.conftest import TEST_PASSWORD, totp_code
from tests.gateway.conftest import DEVICE, SUPPLIER
from tests.gateway.test_adt import _cert, _dcc, _quarantine

RID = f"{SUPPLIER}:{DEVICE}:21"
ACTION = f"user_id,request_id,action\n{SUPPLIER},{RID},release\n"


@pytest.fixture
def held(world, session, ctx, clock):
    """The Supplier with a request held in quarantine, its ARO (second factor on) with a registered officer key, and
    a clerk of the same organisation who is no officer; returns the ARO's key."""
    supplier = world.org("Supplier Ltd")
    session.add(DccUser(organisation_id=supplier.id, eui64=SUPPLIER, role_rows=[DccUserRole(role="IS")]))
    session.commit()
    world.person("aro", "party_user", "authorised_responsible_officer", org=supplier)
    world.person("clerk", "party_user", org=supplier)
    _quarantine(session, 21, clock)
    key = ec.generate_private_key(ec.SECP256R1())
    adt_service.add_officer_certificate(_dcc(ctx), "aro", _cert(key, "aro").public_bytes(Encoding.PEM))
    return key


def _untouched(session) -> None:
    session.expire_all()
    assert session.scalar(select(QuarantinedRequest.status).where(QuarantinedRequest.request_id == RID)) == "held"
    assert session.scalar(select(GatewayMessage.state).where(GatewayMessage.request_id == RID)) == "quarantined"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _sign_in(client, username: str, clock=None) -> None:
    page = client.get("/login")
    done = client.post("/login", data={"username": username, "password": TEST_PASSWORD,
                                       "csrf_token": _csrf(page.text)}, follow_redirects=False)
    if done.headers["location"].startswith("/login/code"):
        form = client.get("/login/code")
        assert client.post("/login/code", data={"code": totp_code(clock), "csrf_token": _csrf(form.text)},
                           follow_redirects=False).status_code == 303


def _body(key) -> dict[str, str]:
    return {"content": ACTION, "signature": sign_file(ACTION.encode(), key)}


def test_a_non_officer_is_refused_at_every_door_and_nothing_changes(client, world, session, held, cli_env, tmp_path):
    clerk = world.token(session.scalar(select(Person).where(Person.username == "clerk")))
    api = client.post("/api/v1/gateway/quarantine/actions", json=_body(held), headers=clerk)
    assert api.status_code == 403
    assert "Senior or Authorised Responsible Officer" in api.json()["error"] and "Party administrator" in api.json()[
        "error"]
    _untouched(session)

    _sign_in(client, "clerk")
    page = client.get("/gateway/quarantine")
    assert RID in page.text and 'id="action-form"' not in page.text  # the form is hidden ...
    posted = client.post("/gateway/quarantine/action", data={"csrf_token": _csrf(page.text),
                                                             "signature": sign_file(ACTION.encode(), held)},
                         files={"file": ("release.csv", ACTION.encode(), "text/csv")})
    assert posted.status_code == 403 and "Responsible Officer" in posted.text  # ... and the server refuses anyway
    adt = client.get("/gateway/adt")
    upload = client.post("/gateway/adt/upload", data={"csrf_token": _csrf(adt.text), "signature": "x"},
                         files={"file": ("adt.csv", f"user_id,srv,warning,quarantine\n{SUPPLIER},4.1.1,1,2\n".encode(),
                                         "text/csv")})
    assert upload.status_code == 403 and "ADT" in upload.text
    _untouched(session)

    file = tmp_path / "release.csv"
    file.write_text(ACTION)
    (tmp_path / "release.csv.sig").write_text(sign_file(ACTION.encode(), held))
    refused = CliRunner().invoke(cli, ["gateway", "quarantine", "action", str(file), "--as", "clerk"])
    assert refused.exit_code == 1 and "Responsible Officer" in refused.output and "Nothing was saved" in refused.output
    _untouched(session)


def test_its_aro_releases_the_request_with_a_signed_file_through_the_page(client, session, held, clock):
    _sign_in(client, "aro", clock)
    page = client.get("/gateway/quarantine")
    assert 'id="action-form"' in page.text and 'id="officer-second-factor"' not in page.text
    done = client.post("/gateway/quarantine/action", follow_redirects=True,
                       data={"csrf_token": _csrf(page.text), "signature": sign_file(ACTION.encode(), held)},
                       files={"file": ("release.csv", ACTION.encode(), "text/csv")})
    assert done.status_code == 200 and 'id="action-done"' in done.text
    session.expire_all()
    assert session.scalar(select(QuarantinedRequest.status)) == "released"


def test_an_officer_without_a_second_factor_sign_in_is_refused(world, session, held, settings, clock, engine, ctx):
    aro = session.scalar(select(Person).where(Person.username == "aro"))
    # the service: an ARO whose sign-in did not pass the second factor
    plain = Ctx(session=session, actor=Actor.of(aro), clock=clock, settings=settings)
    with pytest.raises(Forbidden, match="needs a sign-in with your second factor"):
        adt_service.apply_action_file(plain, ACTION.encode(), sign_file(ACTION.encode(), held))
    _untouched(session)

    # an API token made before the second factor was turned on does not count
    clock.advance(minutes=-2)
    old = world.token(aro)  # made two minutes before the ARO turned the second factor on
    clock.advance(minutes=2)
    with TestClient(create_app(settings=settings, clock=clock, engine=engine)) as client:
        refused = client.post("/api/v1/gateway/quarantine/actions", json=_body(held), headers=old)
        assert refused.status_code == 403 and "second factor" in refused.json()["error"]
        _untouched(session)
        fresh = world.token(aro)
        assert client.post("/api/v1/gateway/quarantine/actions", json=_body(held), headers=fresh).status_code == 200

    # a portal where officers need not enrol: the ARO signs in with the password only, sees why the form is missing
    loose = settings.model_copy(update={"second_factor_required_roles": []})
    other = _quarantine(session, 22, clock)
    aro.totp_secret = aro.totp_enabled_at = None
    session.commit()
    action = f"user_id,request_id,action\n{SUPPLIER},{other.request_id},delete\n"
    with TestClient(create_app(settings=loose, clock=clock, engine=engine)) as client:
        _sign_in(client, "aro")
        page = client.get("/gateway/quarantine")
        assert 'id="officer-second-factor"' in page.text and 'id="action-form"' not in page.text
        posted = client.post("/gateway/quarantine/action",
                             data={"csrf_token": _csrf(page.text), "signature": sign_file(action.encode(), held)},
                             files={"file": ("delete.csv", action.encode(), "text/csv")})
        assert posted.status_code == 403 and "second factor" in posted.text
    session.expire_all()
    assert session.get(QuarantinedRequest, other.id).status == "held"


def test_the_officer_only_list_is_configuration(session, held, settings, clock):
    clerk = session.scalar(select(Person).where(Person.username == "clerk"))
    narrow = settings.model_copy(update={"officer_only_functions": ["adt.upload", "quarantine.delete"]})
    as_clerk = Ctx(session=session, actor=Actor.of(clerk), clock=clock, settings=narrow)
    assert adt_service.may_use(as_clerk, "exit_quarantine") and not adt_service.may_use(as_clerk, "adt.upload")
    delete = f"user_id,request_id,action\n{SUPPLIER},{RID},delete\n".encode()
    with pytest.raises(Forbidden, match="Deleting a quarantined request"):
        adt_service.apply_action_file(as_clerk, delete, sign_file(delete, held))
    _untouched(session)
    # releasing is no longer officer-only: the clerk submits the file the ARO signed
    outcome = adt_service.apply_action_file(as_clerk, ACTION.encode(), sign_file(ACTION.encode(), held))
    assert [q.request_id for q in outcome.released] == [RID] and outcome.officer.startswith("Aro")
    with pytest.raises(ValidationError, match="not an officer function"):
        Settings(officer_only_functions=["quarantine.everything"])
