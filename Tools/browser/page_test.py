#!/usr/bin/env python3
"""The search page in a real browser: headless Chromium, driven over the DevTools protocol.

    python3 Tools/browser/page_test.py --glimpse PATH/TO/glimpse [--screenshots docs/]

Builds a small photo library from Tests/Fixtures/images with the tiny test CLIP, starts
`glimpse serve` on a free loopback port, then as a person would:
  1. loads the page, types a query into the search box, presses Enter, and checks that the grid
     shows the files `glimpse search` prints for that query, in that order;
  2. drags a photo onto the page and checks that the grid shows the files `glimpse search --image`
     prints for it, in that order;
  3. clicks the first result and checks the grid shows `glimpse search --similar`'s order;
  4. (the library is captioned) chooses keyword, then hybrid ranking, types a query, and checks
     the grid against `glimpse search --mode keyword|hybrid`.
Screenshots of each step go to --screenshots. Prints 'N passed, N failed'; exits 1 on failure.
Needs Debian's chromium and the websocket-client package.
"""
import argparse, base64, json, os, shutil, subprocess, sys, tempfile, time
from pathlib import Path

import websocket

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from serving import Server  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "Fixtures"
MODEL = FIXTURES / "clip-tiny"
CAPTIONER = FIXTURES / "blip-caption-tiny"


class Browser:
    """Headless Chromium and one page, over the DevTools protocol."""

    def __init__(self, profile):
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if not chromium:
            raise SystemExit("page test: chromium is not installed (apt-get install chromium)")
        self.process = subprocess.Popen([chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                         "--remote-debugging-port=0", f"--user-data-dir={profile}", "--window-size=1280,900",
                                         "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(profile) / "DevToolsActivePort"
        for _ in range(200):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        targets = json.loads(_get(f"http://127.0.0.1:{port}/json/list"))
        page = next(t for t in targets if t["type"] == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.evaluate(expression):
                return
            time.sleep(0.1)
        raise RuntimeError(f"timed out waiting for {expression}")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self):
        self.process.terminate()
        self.process.wait(10)


def _get(url):
    import urllib.request
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.read().decode()


def cli_paths(glimpse, *arguments):
    out = subprocess.run([glimpse, "search", *arguments, "--format", "jsonl"], check=True, capture_output=True, text=True).stdout
    return [json.loads(line)["path"] for line in out.splitlines() if line.startswith("{")]


GRID_PATHS = "[...document.querySelectorAll('#grid figure')].map(f => f.dataset.path)"
GRID_TITLES = "[...document.querySelectorAll('#grid figure')].map(f => f.title)"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--glimpse", required=True)
    p.add_argument("--screenshots")
    a = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="glimpse-page-"))
    passed, failed = 0, 0
    server = browser = None
    try:
        photos = work / "photos"
        for i, name in enumerate(sorted(os.listdir(FIXTURES / "images"))):
            if name.endswith((".png", ".jpg")):
                (photos / ("a" if i % 2 else "b")).mkdir(parents=True, exist_ok=True)
                shutil.copy(FIXTURES / "images" / name, photos / ("a" if i % 2 else "b") / name)
        library = work / "library"
        subprocess.run([a.glimpse, "index", "--model", MODEL, "--db", library, photos, "--captions", CAPTIONER, "--quiet"], check=True)
        server = Server(a.glimpse, MODEL, library)
        port = server.port
        browser = Browser(work / "profile")
        browser.call("Page.navigate", url=f"http://127.0.0.1:{port}/")
        browser.wait_for("document.readyState === 'complete' && !!document.getElementById('q')")
        top = 40

        def check(name, expected, action, clear=True, ready="true"):
            nonlocal passed, failed
            try:
                # An empty grid first (or, for a click on the grid, a wait for the new status),
                # so that the wait below sees this action's results.
                if clear:
                    browser.evaluate("document.getElementById('grid').innerHTML = ''; document.getElementById('status').textContent = ''")
                action()
                browser.wait_for(ready)
                browser.wait_for(f"{GRID_PATHS}.length === {len(expected)}")
                got = browser.evaluate(GRID_PATHS)
                state = browser.evaluate("document.getElementById('status').textContent + ' | q=' + JSON.stringify(document.getElementById('q').value)")
                state += " " + str(browser.evaluate(GRID_TITLES))
                assert got == expected, f"grid {got} != CLI {expected} ({state})"
                browser.wait_for("[...document.querySelectorAll('#grid img')].every(i => i.complete && i.naturalWidth > 0)")
                if a.screenshots:
                    Path(a.screenshots).mkdir(parents=True, exist_ok=True)
                    browser.screenshot(Path(a.screenshots) / f"page-{name}.png")
                print(f"ok: {name} ({len(expected)} results in the CLI's order)")
                passed += 1
            except Exception as error:  # report and go on to the next check
                print(f"FAILED: {name}: {error}")
                failed += 1

        # 1. Type a query and press Enter.
        query = "a cat on a sofa"

        def type_and_enter(text):
            browser.evaluate("document.getElementById('q').focus()")
            browser.call("Input.insertText", text=text)
            for kind in ("keyDown", "keyUp"):
                browser.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter", windowsVirtualKeyCode=13,
                             text="\r" if kind == "keyDown" else "")
        check("typed-query", cli_paths(a.glimpse, "--db", library, query, "--top", str(top)), lambda: type_and_enter(query))

        # 2. Drag a photo onto the page.
        dropped = str(photos / "a" / sorted(os.listdir(photos / "a"))[0])
        browser.evaluate("document.getElementById('q').value = ''")

        def drag_photo():
            browser.call("Input.setInterceptDrags", enabled=False)
            data = {"items": [], "files": [dropped], "dragOperationsMask": 1}
            for kind in ("dragEnter", "dragOver", "drop"):
                browser.call("Input.dispatchDragEvent", type=kind, x=200, y=300, data=data)
            browser.wait_for("!!photo", timeout=10)
        check("dropped-photo", cli_paths(a.glimpse, "--db", library, "--image", dropped, "--top", str(top)), drag_photo)

        # 3. Click the first result: photos like it.
        first = browser.evaluate("document.querySelector('#grid figure').dataset.path")

        def click_first():
            box = browser.evaluate("(() => { const r = document.querySelector('#grid figure').getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
            for kind in ("mousePressed", "mouseReleased"):
                browser.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)
        check("similar", cli_paths(a.glimpse, "--db", library, "--image", first, "--top", str(top)), click_first,
              clear=False, ready="document.getElementById('status').textContent.startsWith('Like')")

        # 4. The library has captions: the page offers keyword and hybrid ranking.
        caption = json.loads(subprocess.run([a.glimpse, "search", "--db", library, query, "--top", "1"], check=True,
                                            capture_output=True, text=True).stdout)["caption"]
        word = caption.split()[0]
        for mode, text in (("keyword", word), ("hybrid", query)):
            def choose_and_type(mode=mode, text=text):
                if not browser.evaluate("!document.getElementById('mode').hidden"):
                    raise AssertionError("the ranking choice is not shown for a captioned library")
                browser.evaluate(f"document.getElementById('mode').value = '{mode}'; document.getElementById('q').value = ''")
                type_and_enter(text)
            check(f"{mode}-query", cli_paths(a.glimpse, "--db", library, "--mode", mode, text, "--top", str(top)), choose_and_type)
    finally:
        if browser:
            browser.close()
        if server:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
