"""report.html in a real headless Chromium: every figure decodes and is displayed, no console errors, no
network requests; a full-page screenshot is written for a human to look at.

Talks the Chrome DevTools Protocol over ``--remote-debugging-pipe`` (NUL-separated JSON on fds 3/4), so no
port and no extra package is needed.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

from imu_gait.compare import compare
from imu_gait.compare.synthetic import bump, synthetic_analysis
from imu_gait.report import write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"

CHECK_JS = """(() => {
  const imgs = Array.from(document.images);
  return {
    n: imgs.length,
    decoded: imgs.every(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0),
    visible: imgs.every(i => { const r = i.getBoundingClientRect(); return r.width > 100 && r.height > 50
                               && getComputedStyle(i).visibility !== 'hidden'; }),
    title: document.title,
    h1: document.querySelector('h1') && document.querySelector('h1').textContent,
    scripts: document.scripts.length,
    summary: document.querySelector('#summary') !== null,
  };
})()"""


class Cdp:
    """Minimal DevTools client over the pipe."""

    def __init__(self, proc: subprocess.Popen, to_browser: int, from_browser: int) -> None:
        self.proc, self.w, self.r = proc, to_browser, from_browser
        self.buf = b""
        self.next_id = 0
        self.events: list[dict] = []

    def send(
        self,
        method: str,
        params: dict | None = None,
        session: str | None = None,
        timeout: float = 15.0,
    ) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read(timeout)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method: str, timeout: float = 15.0) -> dict:
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        while True:
            m = self._read(timeout)
            if m.get("method") == method:
                return m
            self.events.append(m)

    def _read(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.r], [], [], left)[0]:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)


def _high_fd(fd: int) -> int:
    """Move a descriptor to >= 10 so that it cannot collide with the fds 3/4 the browser uses."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return new


def load_in_chromium(
    html_path: Path, screenshot: Path, profile: Path, clip_top: float = 0.0
) -> tuple[dict, list[str], list[str]]:
    """Open ``html_path`` headless; return (result of CHECK_JS, console errors, non-local request URLs).
    The screenshot shows up to 2600 px of the page from ``clip_top``."""
    to_r, to_w = (_high_fd(fd) for fd in os.pipe())  # we write commands -> browser reads on fd 3
    from_r, from_w = (_high_fd(fd) for fd in os.pipe())  # browser writes on fd 4 -> we read

    args = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--remote-debugging-pipe",
        "--window-size=1280,900",
        "about:blank",
    ]
    # the browser expects the pipe on fds 3 (in) and 4 (out): let the shell move them there
    shell = f'exec "$0" "$@" 3<&{to_r} 4>&{from_w} {to_r}<&- {from_w}>&-'
    proc = subprocess.Popen(
        [shutil.which("bash") or "/bin/bash", "-c", shell, *args],
        pass_fds=(to_r, from_w),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(to_r)
    os.close(from_w)
    cdp = Cdp(proc, to_w, from_r)
    try:
        target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            cdp.send(f"{domain}.enable", session=sid)
        cdp.send("Page.navigate", {"url": html_path.resolve().as_uri()}, session=sid)
        cdp.wait_event("Page.loadEventFired")
        result = cdp.send(
            "Runtime.evaluate", {"expression": CHECK_JS, "returnByValue": True}, session=sid
        )["result"]["value"]
        metrics = cdp.send("Page.getLayoutMetrics", session=sid)["cssContentSize"]
        shot = cdp.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": clip_top,
                    "width": metrics["width"],
                    "height": max(min(metrics["height"] - clip_top, 2600), 1),
                    "scale": 1,
                },
            },
            session=sid,
        )
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        errors, requests = [], []
        for e in cdp.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append(str(p.get("args")))
            elif m == "Runtime.exceptionThrown":
                errors.append(str(p.get("exceptionDetails")))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                errors.append(p["entry"].get("text", ""))
            elif m == "Network.requestWillBeSent":
                url = p.get("request", {}).get("url", "")
                if not url.startswith(("file:", "data:", "about:")):
                    requests.append(url)
        try:
            cdp.send("Browser.close", timeout=5)
        except (TimeoutError, RuntimeError):
            pass
        return result, errors, requests
    finally:
        os.close(to_w)
        os.close(from_r)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_report_renders_in_headless_chromium(tmp_path):
    assert Path(CHROMIUM).exists(), "Chromium is required (scripts/setup --browser installs it)"
    pre = synthetic_analysis(1, n_strides=30, name="pre", subject="P07 <script>alert(1)</script>")
    post = synthetic_analysis(
        2,
        n_strides=30,
        name="post",
        condition="post",
        subject="P07 <script>alert(1)</script>",
        shift={"eversion_excursion": -3.0},
        curve_shift={"eversion": bump(40, 8, -3)},
    )
    write_report(compare(pre, post), tmp_path / "out", pdf=False)
    shot = tmp_path / "screenshot.png"
    result, errors, requests = load_in_chromium(
        tmp_path / "out" / "report.html", shot, tmp_path / "profile"
    )
    assert result["n"] >= 4
    assert result["decoded"] and result["visible"]
    assert result["scripts"] == 0  # the <script> in the subject stayed text
    assert "<script>" in result["title"]
    assert result["summary"]
    assert errors == []
    assert requests == []
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    keep = os.environ.get("IMU_GAIT_KEEP_SCREENSHOT")
    if keep:
        Path(keep).write_bytes(png)


if (
    __name__ == "__main__"
):  # by hand: python tests/test_report_browser.py REPORT.html OUT.png [TOP_PX]
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        top = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
        print(load_in_chromium(Path(sys.argv[1]), Path(sys.argv[2]), Path(d), top))
