"""The CLI's consoles print certificate fingerprints as they are: Rich would turn ':CD:' into an emoji."""

from __future__ import annotations

import pytest

from gbsmart.core.cli_support import console, err_console

FINGERPRINT = "B5:7B:D1:1A:E1:F3:69:62:B8:A2:2B:EC:AA:0A:59:9E:4E:0B:52:CD:54:3A:58:29:AB:34:02:27:B7:3C:4A:60"


@pytest.mark.parametrize("out", [console, err_console], ids=["stdout", "stderr"])
def test_a_fingerprint_is_printed_unchanged(out):
    with out.capture() as captured:
        out.print(f"signing certificate SHA-256: {FINGERPRINT}", soft_wrap=True)
    assert captured.get() == f"signing certificate SHA-256: {FINGERPRINT}\n"
