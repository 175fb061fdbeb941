"""Alerts with hard deadlines (issue 11): device and DCC Alerts routed to the Users entitled to them, the power
outage rule, alert storm throttling, traffic management by priority and the northbound cache."""
