"""`gbsmart alerts ...`: device and DCC alerts, the northbound cache and the DCC Service Alerts broadcast."""

from __future__ import annotations

import typer

from gbsmart.alerts.broadcasts_cli import broadcast_app

app = typer.Typer(help="Alerts: device and DCC Alerts, their delivery, and the DCC Service Alerts broadcast.",
                  no_args_is_help=True)
app.add_typer(broadcast_app, name="broadcast")

from gbsmart.alerts import intake_cli, northbound_cli, outage_cli  # noqa: E402  (after the app they register on)

outage_cli.register(app)  # `gbsmart alerts outages`, `gbsmart alerts breaches`
intake_cli.register(app)  # `gbsmart alerts add-source`, `sources`, `inject`
northbound_cli.register(app)  # `gbsmart alerts backlog`, `expired`
