"""The DCC Boxed signing tool, fetched from the npm registry at test time, and the RTDS request templates.

The ``boxed`` fixture (session-wide, from conftest.py) fetches ``@smartdcc/duis-sign-wrap`` and
``@smartdcc/duis-templates`` with ``npm pack`` into the pytest cache (nothing of theirs is committed) and
compiles a small launcher so that one JVM signs or validates a whole batch of files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pytest
from lxml import etree

from gbsmart.gateway.keystore import BoxedMaterial, load_boxed_jar
from gbsmart.gateway.xml import DS_NS

ROOT = Path(__file__).resolve().parents[2]
SIGN_WRAP = "@smartdcc/duis-sign-wrap@0.1.2"
TEMPLATES = "@smartdcc/duis-templates@0.7.0"
#: the 22 RTDS requests in shared/duis/examples (identical to these templates of @smartdcc/duis-templates)
EXAMPLES = (
    "11.1_UPDATE_FIRMWARE_REQUEST_DUIS.XML", "12.1_REQUEST_WAN_MATRIX_ADDRESS_REQUEST_DUIS.XML",
    "12.2_DEVICE_PRE_NOTIFICATION_REQUEST_DUIS.XML",
    "8.14.1_COMMUNICATIONS_HUB_STATUS_UPDATE_INSTALL_SUCCESS_REQUEST_DUIS.XML", "8.2_READ_INVENTORY_REQUEST_DUIS.XML",
    "8.3_DECOMMISSION_DEVICE_REQUEST_DUIS.XML", "8.4_UPDATE_INVENTORY_REQUEST_DUIS.XML",
    "CS01a_2.2_SUCCESS_REQUEST_DUIS.XML", "CS02bSupplierBySupplier_6.15.1_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML",
    "CS06_11.3_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML", "CS08_11.2_SUCCESS_REQUEST_DUIS.XML",
    "ECS10_3.1_SUCCESS_REQUEST_DUIS.XML", "ECS17b_4.1.1_DSP_FUTURE_DATED_REQUEST_DUIS.XML",
    "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML", "ECS22b_4.8.1_SINGLE_SUCCESS_REQUEST_DUIS.XML",
    "ECS29a_6.5_SUCCESS_REQUEST_DUIS.XML", "ECS43_7.2_SUCCESS_REQUEST_DUIS.XML", "ECS45_7.4_SUCCESS_REQUEST_DUIS.XML",
    "ECS50_9.1_SUCCESS_REQUEST_DUIS.XML", "ECS70Commission_8.1.1_SUCCESS_REQUEST_DUIS.XML",
    "GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_REQUEST_DUIS.XML", "GCS31_14.1_SUCCESS_REQUEST_DUIS.XML",
)
_OFFLINE = re.compile(r"ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ECONNRESET|ENETUNREACH|network|offline", re.I)

#: one JVM, many files: ``Batch Sign|Validate FILE...`` writes FILE.out, FILE.err and FILE.rc for each
BATCH_JAVA = """
import java.io.*;
import java.nio.file.*;
import uk.co.smartdcc.boxed.xmldsig.*;

public class Batch {
  public static void main(String[] args) throws Exception {
    PrintStream out = System.out, err = System.err;
    for (int i = 1; i < args.length; i++) {
      ResultCode rc;
      try (PrintStream o = new PrintStream(new FileOutputStream(args[i] + ".out"), true, "UTF-8");
           PrintStream e = new PrintStream(new FileOutputStream(args[i] + ".err"), true, "UTF-8")) {
        System.setOut(o);
        System.setErr(e);
        rc = args[0].equals("Sign") ? Sign.main_aux(new String[] {args[i], "--preserveCounter"})
                                    : Validate.main_aux(new String[] {args[i]});
      } finally {
        System.setOut(out);
        System.setErr(err);
      }
      Files.writeString(Path.of(args[i] + ".rc"), Integer.toString(rc.value()));
    }
  }
}
"""


class ToolResult(NamedTuple):
    """What the tool did with one file: its exit code, what it printed, and its messages."""

    code: int
    out: bytes
    err: str


@dataclass(frozen=True)
class Boxed:
    """The DCC Boxed signing tool, ready to run in batches."""

    jar: Path
    classes: Path
    material: BoxedMaterial
    templates: Path

    def run(self, mode: str, files: dict[str, bytes], work: Path) -> dict[str, ToolResult]:
        """Run the tool's Sign or Validate over ``files`` (name -> XML) in one JVM."""
        work.mkdir(parents=True, exist_ok=True)
        paths = {}
        for name, data in files.items():
            paths[name] = work / name
            paths[name].write_bytes(data)
        cp = f"{self.jar}:{self.classes}"
        run = subprocess.run(["java", "-cp", cp, "Batch", mode, *map(str, paths.values())], capture_output=True,
                             text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        return {name: ToolResult(int(Path(f"{p}.rc").read_text()), Path(f"{p}.out").read_bytes(),
                                 Path(f"{p}.err").read_text()) for name, p in paths.items()}


def _npm_pack(spec: str, cache: Path) -> Path:
    """The package's tarball, fetched with ``npm pack`` into ``cache`` once; skip if the registry is unreachable."""
    wanted = spec.lstrip("@").replace("/", "-").replace("@", "-") + ".tgz"
    tarball = cache / wanted
    if tarball.exists():
        return tarball
    if shutil.which("npm") is None:
        pytest.fail("npm is not installed: the interop tests fetch the DCC's tools with `npm pack`")
    run = subprocess.run(["npm", "pack", spec, "--pack-destination", str(cache)], capture_output=True, text=True,
                         timeout=180)
    if run.returncode != 0:
        if _OFFLINE.search(run.stderr):
            pytest.skip(f"the npm registry cannot be reached to fetch {spec}: {run.stderr.strip()[-300:]}")
        pytest.fail(f"npm pack {spec} failed:\n{run.stderr}")
    assert tarball.exists(), f"npm pack wrote {run.stdout.strip()!r}, not {wanted}"
    return tarball


def _extract(tarball: Path, dest: Path) -> Path:
    if not dest.exists():
        with tarfile.open(tarball) as archive:
            archive.extractall(dest, filter="data")
    return dest / "package"


@pytest.fixture(scope="session")
def boxed(request) -> Boxed:
    if shutil.which("java") is None or shutil.which("javac") is None:
        pytest.fail("Java (java and javac) is needed to run the DCC Boxed signing tool")
    # one cache per xdist worker: two workers unpacking into one directory at once would read half-written files
    cache = Path(request.config.cache.mkdir(f"duis-npm-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"))
    jar = _extract(_npm_pack(SIGN_WRAP, cache), cache / "sign-wrap") / "dist" / "tool.jar"
    templates = _extract(_npm_pack(TEMPLATES, cache), cache / "templates") / "templates"
    classes = cache / "batch"
    if not (classes / "Batch.class").exists():
        classes.mkdir(exist_ok=True)
        (classes / "Batch.java").write_text(BATCH_JAVA)
        subprocess.run(["javac", "-cp", str(jar), "-d", str(classes), str(classes / "Batch.java")], check=True,
                       timeout=120)
    assert zipfile.is_zipfile(jar)
    return Boxed(jar, classes, load_boxed_jar(jar), templates)


def _example(boxed: Boxed, name: str) -> bytes:
    shared = ROOT.parent / "shared" / "duis" / "examples" / name
    return (shared if shared.exists() else boxed.templates / name).read_bytes()


def _without_signature(data: bytes) -> bytes:
    root = etree.fromstring(data)
    for signature in root.findall(f"{{{DS_NS}}}Signature"):
        root.remove(signature)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
