"""Screenshot of an asset page with its checks: the demo, the Dagster UI and headless Chromium.

Run by hand (``make screenshot``), never in CI: it runs ``etl demo`` in a fresh folder with its
own DAGSTER_HOME, serves that instance with ``dg dev -w workspace.yaml`` on loopback, and has
Debian's Chromium (``apt-get install -y chromium``) take the picture, writing
``docs/asset-checks.png`` by default. Everything it starts is stopped again, by process group.

    .venv/bin/python -m tools.screenshot [--asset project_01/transfer/production_result]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--hide-scrollbars", "--force-device-scale-factor=1")
LOCATIONS_QUERY = "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"
NUX_SEEN = "mutation { setNuxSeen }"  # the UI's first-visit dialog would cover the page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asset", default="project_01/transfer/production_result")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "asset-checks.png")
    parser.add_argument("--port", type=int, default=3399)
    parser.add_argument("--size", default="1600,1000", help="window width,height")
    parser.add_argument("--wait", type=int, default=25, help="seconds the page may render")
    parser.add_argument("--keep", action="store_true", help="keep the demo folder")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.stderr.write("chromium not found; install it with `apt-get install -y chromium` "
                         "(as root)\n")
        return 2
    work = Path(tempfile.mkdtemp(prefix="etl-screenshot-"))
    env = {**os.environ, "DAGSTER_HOME": str(work / "home"), "VIRTUAL_ENV": str(VENV_BIN.parent)}
    (work / "home").mkdir()
    (work / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    server = None
    try:
        subprocess.run([str(VENV_BIN / "etl"), "demo"], cwd=work, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        server = subprocess.Popen(
            [str(VENV_BIN / "dg"), "dev", "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1",
             "-p", str(args.port)],
            cwd=work, env=env, stdout=(work / "dev.log").open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{args.port}"
        wait_for_locations(base, timeout_s=180)
        graphql(base, NUX_SEEN)
        url = f"{base}/assets/{args.asset}?view=checks"
        args.out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={work / 'chromium'}",
             f"--window-size={args.size}", f"--virtual-time-budget={args.wait * 1000}",
             f"--screenshot={args.out.resolve()}", url],
            check=True, capture_output=True, timeout=args.wait + 120,
        )
        sys.stdout.write(f"wrote {args.out} from {url}\n")
        return 0
    finally:
        if server is not None:
            stop(server)
        if args.keep:
            sys.stdout.write(f"demo folder kept: {work}\n")
        else:
            shutil.rmtree(work, ignore_errors=True)


def stop(server: subprocess.Popen[bytes]) -> None:
    """The UI, its daemon and code servers: their whole process group, forcibly if need be."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=30)


def wait_for_locations(base: str, timeout_s: float) -> None:
    """Until the UI answers and every code location has loaded."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            entries = graphql(base, LOCATIONS_QUERY)["workspaceOrError"]["locationEntries"]
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                return
        except (OSError, KeyError, ValueError):
            pass
        time.sleep(2)
    raise TimeoutError(f"the Dagster UI at {base} did not load its code locations in time")


def graphql(base: str, query: str) -> Any:
    request = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["data"]


if __name__ == "__main__":
    raise SystemExit(main())
