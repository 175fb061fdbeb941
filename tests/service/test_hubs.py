"""Communications Hub exceptions and returns (issue 13 point 4): exceptions by category and CSP region (the SMI's
region when the hub is there), returns with their triage, the share of the hubs decommissioned in the SMI and the
no-fault-found rate, all from recorded rows."""

from __future__ import annotations

from datetime import UTC, date, datetime

from typer.testing import CliRunner

from gbsmart.cli import app
from gbsmart.models.smi import SmiDevice, SmiStatusHistory
from gbsmart.smi import rules as smi_rules
from gbsmart.smi.enums import CspRegion, DeviceType, SmiStatus

NOV = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
HUB = "00-DB-12-34-56-78-90-A2"


def _hubs(session, n: int) -> None:
    for i in range(n):
        device = smi_rules.eui64_to_int(0x00DB_1234_5678_9000 + 0xA2 + i)  # stored as a signed integer
        session.add(SmiDevice(device_id=device, device_type=smi_rules.DEVICE_TYPE_CODE[DeviceType.CHF],
                              lifecycle_status=smi_rules.STATUS_CODE[SmiStatus.DECOMMISSIONED],
                              lifecycle_date=date(2026, 11, 1), csp_region=smi_rules.REGION_CODE[CspRegion.NORTH]))
        session.add(SmiStatusHistory(device_id=device, from_status=smi_rules.STATUS_CODE[SmiStatus.COMMISSIONED],
                                     to_status=smi_rules.STATUS_CODE[SmiStatus.DECOMMISSIONED], at=NOV, reason="test"))
    session.commit()


def test_exceptions_and_returns_by_region_with_the_returned_share_and_no_fault_found(client, world, session, clock):
    _hubs(session, 10)
    clock.set(NOV)
    desk = world.user("dora", "dcc", org=world.org("DCC", "dcc"))
    supplier = world.user("sam", "party_user", org=world.org("Bright Energy", "sec_party"))

    def exception(hub, category, region=None):
        return client.post("/api/v1/service/hubs/exceptions", json={"hub_id": hub, "category": category,
                                                                    "csp_region": region}, headers=desk)

    first = exception(HUB.lower(), "Incomplete or no address")
    assert first.status_code == 201 and first.json()["csp_region"] == "North"  # the SMI's region, not a guess
    exception("00-DB-12-34-56-78-90-A3", "Incomplete or no address", "South")  # in the SMI: North all the same
    exception("00-DB-99-99-99-99-99-01", "Incomplete or no address")            # not in the SMI: unknown
    exception("00-DB-99-99-99-99-99-02", "No Incident for Outage", "central")
    wrong = exception(HUB, "Gremlins")
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["field"] == "category"
    assert exception("hub", "No Incident for Outage").status_code == 422
    refused = client.post("/api/v1/service/hubs/exceptions", json={"hub_id": HUB, "category": "No Incident for "
                                                                   "Outage"}, headers=supplier)
    assert refused.status_code == 403
    assert client.post(f"/api/v1/service/hubs/exceptions/{first.json()['id']}/close", headers=desk).status_code == 200

    back = client.post("/api/v1/service/hubs/returns", json={"hub_id": HUB, "reason": "no WAN"}, headers=desk).json()
    client.post("/api/v1/service/hubs/returns", json={"hub_id": "00-DB-99-99-99-99-99-03"}, headers=desk)
    assert back["triage"] == "pending"
    triaged = client.post(f"/api/v1/service/hubs/returns/{back['id']}/triage",
                          json={"result": "no_fault_found", "note": "works on the bench"}, headers=desk)
    assert triaged.status_code == 200 and triaged.json()["triage"] == "no_fault_found"

    f = client.get("/api/v1/service/hubs", params={"month": "2026-11"}, headers=supplier).json()
    assert f["exceptions"] == {"Incomplete or no address": {"North": 2, "unknown": 1},
                               "No Incident for Outage": {"Central": 1}}
    assert f["open_exceptions"] == {"Incomplete or no address": 2, "No Incident for Outage": 1}
    assert (f["returns"], f["decommissioned"], f["return_share"]) == (2, 10, 20.0)
    assert f["triage"] == {"no_fault_found": 1, "pending": 1} and f["no_fault_found_rate"] == 100.0
    october = client.get("/api/v1/service/hubs", params={"month": "2026-10"}, headers=desk).json()
    assert october["returns"] == 0 and october["return_share"] is None and october["no_fault_found_rate"] is None

    clock.set(datetime(2026, 12, 2, tzinfo=UTC))
    desk = world.user("dora.december", "dcc", org=world.org("DCC", "dcc"))  # test tokens last a day
    answer = client.get("/api/v1/service/report", headers=desk)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["ch_exceptions"]["returns"] == 2 and report["ch_exceptions"]["return_share"] == 20.0


def test_the_hub_commands(cli_env, session):
    _hubs(session, 4)
    runner = CliRunner()
    recorded = runner.invoke(app, ["service", "hubs", "exception", HUB, "Incomplete or no address"])
    assert recorded.exit_code == 0 and "(North)" in recorded.output, recorded.output
    returned = runner.invoke(app, ["service", "hubs", "return", HUB, "--reason", "no WAN"])
    assert returned.exit_code == 0, returned.output
    return_id = returned.output.split()[2].rstrip(":")
    assert runner.invoke(app, ["service", "hubs", "triage", return_id, "broken"]).exit_code != 0
    assert runner.invoke(app, ["service", "hubs", "triage", return_id, "fault_found"]).exit_code == 0
    shown = runner.invoke(app, ["service", "hubs", "report"])
    assert shown.exit_code == 0 and "Incomplete or no address" in shown.output and "fault_found" in shown.output
