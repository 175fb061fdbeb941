"""The Self-Service Interface for DCC Users (issue 15): a User's home, per-customer enablement, the service audit
trail and the plain-English codes."""
