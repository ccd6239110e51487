"""Screenshots of what the Dagster UI shows: the demo, the UI and headless Chromium.

Run by hand (``make screenshot``), never in CI: it runs ``etl demo`` in a fresh folder with its
own DAGSTER_HOME, then gives ``project_01``'s middle demo day a production result rejecting more
than it made and reloads the three days (the blocking check ``defects_within_output`` fails on
that day), serves that instance with ``dg dev -w workspace.yaml`` on loopback, and drives
Debian's Chromium (``apt-get install -y chromium``) through its DevTools protocol to write

- ``docs/asset-checks.png``: the asset's *Checks* tab;
- ``docs/check-partitions.png``: the failing check's *Partitions* tab (one day Failed).

Everything it starts is stopped again, by process group.

    .venv/bin/python -m tools.screenshot
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--hide-scrollbars", "--force-device-scale-factor=1")
LOCATIONS_QUERY = "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"
NUX_SEEN = "mutation { setNuxSeen }"  # the UI's first-visit dialog would cover the page
ASSET = "project_01/transfer/production_result"
CHECK = "defects_within_output"
# Clicks the last element whose own text is exactly the label: on a check's page the asset's
# own tabs come first, the check's tabs (Overview, Execution history, Partitions) after them.
CLICK = """(() => {{
  const found = [...document.querySelectorAll('button, [role=tab], a, div, span')]
    .filter(e => e.childElementCount === 0 && e.textContent.trim() === {label});
  if (!found.length) return false;
  found[found.length - 1].click(); return true;
}})()"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--port", type=int, default=3399)
    parser.add_argument("--size", default="1600,1000", help="window width,height")
    parser.add_argument("--wait", type=int, default=20, help="seconds a page may render")
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
    server = None
    try:
        days = demo_with_a_failing_day(work, env)
        server = subprocess.Popen(
            [str(VENV_BIN / "dg"), "dev", "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1",
             "-p", str(args.port)],
            cwd=work, env=env, stdout=(work / "dev.log").open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{args.port}"
        wait_for_locations(base, timeout_s=180)
        graphql(base, NUX_SEEN)
        args.out.mkdir(parents=True, exist_ok=True)
        width, height = (int(v) for v in args.size.split(","))
        with browser(chromium, work, width, height) as page:
            page.open(f"{base}/assets/{ASSET}?view=checks", args.wait)
            page.save(args.out / "asset-checks.png")
            page.open(f"{base}/assets/{ASSET}?view=checks&checkDetail={CHECK}", args.wait)
            if not page.evaluate(CLICK.format(label=json.dumps("Partitions"))):
                raise RuntimeError("the check page has no Partitions tab")
            time.sleep(args.wait / 2)
            page.save(args.out / "check-partitions.png")
        sys.stdout.write(f"wrote {args.out / 'asset-checks.png'} and "
                         f"{args.out / 'check-partitions.png'} ({days[0]}..{days[-1]})\n")
        return 0
    finally:
        if server is not None:
            stop(server)
        if args.keep:
            sys.stdout.write(f"demo folder kept: {work}\n")
        else:
            shutil.rmtree(work, ignore_errors=True)


def demo_with_a_failing_day(work: Path, env: dict[str, str]) -> list[str]:
    """``etl demo``, then project_01's middle day with more defects than output, reloaded."""
    subprocess.run([str(VENV_BIN / "etl"), "demo"], cwd=work, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()  # project_01: Seoul
    days = [(today - dt.timedelta(days=i)).isoformat() for i in (3, 2, 1)]
    with contextlib.closing(sqlite3.connect(work / ".etl" / "sources" / "project_01.db")) as db:
        db.execute("UPDATE production_result SET defect_qty = produced_qty + 1 WHERE id = "
                   "(SELECT min(id) FROM production_result WHERE date(produced_at) = ?)",
                   (days[1],))
        db.commit()
    subprocess.run([str(VENV_BIN / "etl"), "backfill", "project_01", "--from", days[0],
                    "--to", days[-1]], cwd=work, env=env, stdout=subprocess.DEVNULL, check=False)
    return days


class Page:
    """One tab of headless Chromium, driven through the DevTools protocol."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.next_id = 0

    def call(self, method: str, **params: Any) -> Any:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def open(self, url: str, wait_s: float) -> None:
        self.call("Page.navigate", url=url)
        time.sleep(wait_s)

    def evaluate(self, script: str) -> Any:
        return self.call("Runtime.evaluate", expression=script, returnByValue=True).get(
            "result", {}).get("value")

    def save(self, path: Path) -> None:
        shot = self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))


@contextlib.contextmanager
def browser(chromium: str, work: Path, width: int, height: int) -> Iterator[Page]:
    import websocket  # the dev group's websocket-client

    port = 9333
    process = subprocess.Popen(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={work / 'chromium'}",
         f"--window-size={width},{height}", f"--remote-debugging-port={port}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=5) as r:
                    tabs = [t for t in json.load(r) if t.get("type") == "page"]
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        socket = websocket.create_connection(tabs[0]["webSocketDebuggerUrl"], timeout=60)
        try:
            page = Page(socket)
            page.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                      deviceScaleFactor=1, mobile=False)
            yield page
        finally:
            socket.close()
    finally:
        stop(process)


def stop(server: subprocess.Popen[bytes]) -> None:
    """A process and its children: their whole process group, forcibly if need be."""
    with contextlib.suppress(ProcessLookupError):
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
