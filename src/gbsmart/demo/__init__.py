"""The demo dataset: Parties, people, proposals, decisions and releases from the four seed papers."""
