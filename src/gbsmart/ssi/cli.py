"""`gbsmart ssi ...`: the Self-Service Interface from the command line. Each part of the SSI adds its commands here
(the audit trail and the codes catalogue: ``ssi.audit_cli``); the rules are the services', as in the API and pages."""

from __future__ import annotations

import typer

from gbsmart.ssi import audit_cli, home_cli

app = typer.Typer(help="The Self-Service Interface for DCC Users: the audit trail, the codes in plain English.",
                  no_args_is_help=True)
audit_cli.register(app)
home_cli.register(app)
