"""Replays of attacks found by probing the running system (issue 8); each must stay refused."""
