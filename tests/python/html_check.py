"""Opens an HTML file in headless Chromium over the DevTools protocol and reports, as JSON on
stdout: console errors and uncaught exceptions, every network request the page made, how many
<svg> elements and result-table rows it has, and where its screenshot was saved.

usage: html_check.py CHROMIUM PAGE.html SCREENSHOT.png
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket


def main():
    chromium, page, shot = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
    profile = tempfile.mkdtemp(prefix="loopql-chromium-")
    proc = subprocess.Popen(
        [
            chromium,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-port=0",
            "--user-data-dir=" + profile,
            "--window-size=1200,1600",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            if time.time() > deadline or proc.poll() is not None:
                raise SystemExit("chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        port = open(port_file).read().split()[0]
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        target = next(t for t in targets if t["type"] == "page")
        ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        next_id = [0]
        events = []

        def call(method, **params):
            next_id[0] += 1
            ws.send(json.dumps({"id": next_id[0], "method": method, "params": params}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("id") == next_id[0]:
                    if "error" in msg:
                        raise SystemExit(f"{method}: {msg['error']}")
                    return msg.get("result", {})
                events.append(msg)

        for domain in ("Runtime", "Log", "Network", "Page"):
            call(domain + ".enable")
        url = "file://" + page
        call("Page.navigate", url=url)
        deadline = time.time() + 30
        while not any(e.get("method") == "Page.loadEventFired" for e in events):
            if time.time() > deadline:
                raise SystemExit("the page did not finish loading in 30 s")
            events.append(json.loads(ws.recv()))
        # Let late requests and console messages arrive.
        ws.settimeout(0.5)
        try:
            while True:
                events.append(json.loads(ws.recv()))
        except websocket.WebSocketTimeoutException:
            pass
        ws.settimeout(30)

        def evaluate(expr):
            return call("Runtime.evaluate", expression=expr, returnByValue=True)["result"]["value"]

        errors = []
        requests = []
        for e in events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append(" ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif m == "Runtime.exceptionThrown":
                errors.append(p["exceptionDetails"].get("text", "exception"))
            elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
                errors.append(p["entry"]["text"])
            elif m == "Network.requestWillBeSent":
                requests.append(p["request"]["url"])
        metrics = call(
            "Page.getLayoutMetrics"
        )["cssContentSize"]
        png = call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": metrics["width"], "height": metrics["height"], "scale": 1},
        )["data"]
        import base64

        with open(shot, "wb") as f:
            f.write(base64.b64decode(png))
        print(
            json.dumps(
                {
                    "url": url,
                    "console_errors": errors,
                    "requests": requests,
                    "external_requests": [r for r in requests if r != url],
                    "svg": evaluate("document.querySelectorAll('svg').length"),
                    "chart_svg": evaluate("document.querySelectorAll('figure.chart svg').length"),
                    "table_rows": evaluate("document.querySelectorAll('table.result tbody tr').length"),
                    "title": evaluate("document.title"),
                    "screenshot": shot,
                }
            )
        )
        ws.close()
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
