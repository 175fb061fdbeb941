"""Committees: the Panel and its sub-committees, meetings, minutes, decisions and actions (DOMAIN.md section 3)."""
