"""`gbsmart alerts ...`: device and DCC alerts, the northbound cache and the DCC Service Alerts broadcast."""

from __future__ import annotations

import typer

app = typer.Typer(help="Alerts: device and DCC Alerts, their delivery, and the DCC Service Alerts broadcast.",
                  no_args_is_help=True)

from gbsmart.alerts import intake_cli  # noqa: E402  (after the app it registers on)

intake_cli.register(app)  # `gbsmart alerts add-source`, `sources`, `inject` (A1)
