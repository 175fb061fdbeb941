"""`gbsmart service categories` and `gbsmart service incidents ...`: the same rules as the API, one clear line on a
refusal, nothing saved."""

from __future__ import annotations

from typer.testing import CliRunner

from gbsmart.cli import app
from gbsmart.models.parties import DccUser


def test_incidents_from_the_command_line(cli_env, world, session):
    supplier = world.org("Bright Energy", "sec_party", "large_supplier")
    session.add(DccUser(organisation_id=supplier.id, eui64="90-B3-D5-1F-30-01-00-0A"))
    session.commit()
    world.person("sam", "party_user", org=supplier)
    runner = CliRunner()

    shown = runner.invoke(app, ["service", "categories"])
    assert shown.exit_code == 0, shown.output
    assert "3 working days" in shown.output and "Incorrect CH variant installed" in shown.output

    bad = runner.invoke(app, ["service", "incidents", "raise", "Hub not talking", "--type", "no_communications",
                              "--category", "3", "--as", "sam"])
    assert bad.exit_code == 1 and "Communications Hub Device ID is needed" in bad.output
    raised = runner.invoke(app, ["service", "incidents", "raise", "Hub not talking", "--type", "no_communications",
                                 "--category", "3", "--answer", "device_id=00-DB-12-34-56-78-90-A2",
                                 "--user-id", "90-B3-D5-1F-30-01-00-0A", "--as", "sam"])
    assert raised.exit_code == 0, raised.output
    reference = raised.output.split()[1]
    assert reference == "INC0000000001" and "(24 hours)" in raised.output

    refused = runner.invoke(app, ["service", "incidents", "assign", reference, "service_provider", "--to",
                                  "CSP North", "--as", "sam"])
    assert refused.exit_code == 1 and "service desk" in refused.output
    assigned = runner.invoke(app, ["service", "incidents", "assign", reference, "service_provider", "--to",
                                   "CSP North"])
    assert assigned.exit_code == 0 and "CSP North" in assigned.output
    listed = runner.invoke(app, ["service", "incidents", "list", "--view", "due_24h"])
    assert listed.exit_code == 0 and reference in listed.output and "left" in listed.output
    resolved = runner.invoke(app, ["service", "incidents", "status", reference, "resolved", "--note", "Hub reset"])
    assert resolved.exit_code == 0 and "resolved" in resolved.output
    detail = runner.invoke(app, ["service", "incidents", "show", reference, "--json", "--as", "sam"])
    assert detail.exit_code == 0 and '"status": "resolved"' in detail.output and '"sla_left": "met"' in detail.output
    wrong = runner.invoke(app, ["service", "incidents", "list", "--view", "soon"])
    assert wrong.exit_code == 1 and "view: must be one of" in wrong.output
