"""A real Label Studio server for the tests (PyPI `label-studio` in a virtual environment of
its own: `.venv-label-studio`, which .ci/run installs, or the executable in ILR_LABEL_STUDIO),
its HTTP API, and a headless Chromium that logs in and photographs a labeling page (the
DevTools protocol over `--remote-debugging-pipe`, so no websocket package is needed)."""
import base64
import contextlib
import fcntl
import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
USER, PASSWORD = "annotator@example.com", "ilr-test-password"
TOKEN = "0123456789abcdef0123456789abcdef01234567"  # a legacy API token, set at start


def executable() -> str:
    found = os.environ.get("ILR_LABEL_STUDIO") or str(REPO / ".venv-label-studio/bin/label-studio")
    if not Path(found).is_file():
        if os.environ.get("ILR_REQUIRE_LABEL_STUDIO"):
            pytest.fail(f"Label Studio is required here (ILR_REQUIRE_LABEL_STUDIO) but {found} "
                        "is missing; .ci/run installs it")
        pytest.skip(f"Label Studio not installed ({found}; python3 -m venv .venv-label-studio && "
                    ".venv-label-studio/bin/pip install -c constraints-label-studio.txt label-studio)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`label-studio start` on 127.0.0.1 with SQLite in ``data_dir``, one user and its token."""

    def __init__(self, data_dir: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log = data_dir / "server.log"
        env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir), "DJANGO_DEBUG": "0"}
        self.proc = subprocess.Popen(
            [executable(), "start", "--no-browser", "--data-dir", str(data_dir),
             "--internal-host", "127.0.0.1", "--port", str(self.port), "--username", USER,
             "--password", PASSWORD, "--user-token", TOKEN, "--enable-legacy-api-token"],
            env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Label Studio exited: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as r:
                    if r.status == 200:
                        return
            time.sleep(1)
        raise RuntimeError(f"Label Studio did not answer in 240 s: {self.log.read_text()[-2000:]}")

    def api(self, method: str, path: str, body=None):
        request = urllib.request.Request(
            self.url + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Token {TOKEN}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as r:
            return json.loads(r.read() or b"null")

    def session_cookie(self) -> str:
        """A browser session for the user: Django's login form, as a person signs in."""
        import requests

        session = requests.Session()
        session.get(f"{self.url}/user/login/", timeout=30)
        session.post(f"{self.url}/user/login/", allow_redirects=False, timeout=30,
                     data={"email": USER, "password": PASSWORD,
                           "csrfmiddlewaretoken": session.cookies["csrftoken"]},
                     headers={"Referer": f"{self.url}/user/login/"})
        return session.cookies["sessionid"]

    def stop(self):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, 9)
        self.proc.wait()


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe (fds 3 and 4)."""

    def __init__(self, chromium: str, profile: Path, size=(1280, 900)):
        to_chrome, self._out = os.pipe()
        self._in, from_chrome = os.pipe()
        # keep our ends above 4 so the child's dup2 onto 3 and 4 cannot clobber them
        self._out, self._in = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (self._out, self._in))

        def pipes():
            os.dup2(to_chrome, 3)
            os.dup2(from_chrome, 4)

        self.proc = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={profile}", "--remote-debugging-pipe",
             f"--window-size={size[0]},{size[1]}", "about:blank"],
            pass_fds=(3, 4), preexec_fn=pipes, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome)
        os.close(from_chrome)
        self._buffer, self._next = b"", 0
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target,
                                                           "flatten": True})["sessionId"]

    def send(self, method: str, params: dict | None = None, *, page: bool = False) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if page:
            message["sessionId"] = self.session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
            raw, _, self._buffer = self._buffer.partition(b"\0")
            reply = json.loads(raw)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                           page=True)["result"]
        return result.get("value")

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", {"format": "png"}, page=True)["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self):
        self.proc.kill()
        self.proc.wait()
        os.close(self._out)
        os.close(self._in)


VISIBLE_TEXTS = """(texts => {
  if (!document.body) return [];
  const seen = new Set();
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const text = walk.currentNode.textContent.trim(), el = walk.currentNode.parentElement;
    const wanted = texts.filter(w => w.length <= 2 ? text === w : text.includes(w));
    if (!wanted.length) continue;
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.height > 0 && box.bottom > 0 && box.top < innerHeight
        && getComputedStyle(el).visibility !== 'hidden') wanted.forEach(w => seen.add(w));
  }
  return [...seen];
})(%s)"""
RADIOS = "[...document.querySelectorAll('input[type=radio]')].filter(e => e.getBoundingClientRect().width > 0).length"


def photograph_task(server: Server, browser: Browser, project: int, task: int, shot: Path,
                    texts: list[str]) -> tuple[list[str], int]:
    """Open a task's labeling page as the signed-in user, wait until ``texts`` are visible (a
    text of one or two characters as a whole text, longer ones within one) and the choices
    drawn, photograph it; returns (the visible texts, visible radio buttons)."""
    browser.send("Network.enable", page=True)
    browser.send("Network.setCookie", {"name": "sessionid", "value": server.session_cookie(),
                                       "url": server.url}, page=True)
    browser.send("Page.navigate", {"url": f"{server.url}/projects/{project}/data?task={task}"},
                 page=True)
    seen, radios = [], 0
    for _ in range(90):
        time.sleep(1)
        seen = browser.evaluate(VISIBLE_TEXTS % json.dumps(texts)) or []
        radios = browser.evaluate(RADIOS) or 0
        if len(seen) == len(set(texts)) and radios >= 2:
            break
    time.sleep(1)  # the last paint
    browser.screenshot(shot)
    return seen, radios


def main(argv=None) -> None:
    """The README's picture: a server, a project with `ilr judge export`'s config and tasks,
    one task's labeling page photographed.

        python tests/label_studio.py judge/refine@r1 docs/img/label-studio-task.png
    """
    import argparse
    import shutil
    import tempfile

    parser = argparse.ArgumentParser(description=main.__doc__.splitlines()[0])
    parser.add_argument("export_dir", type=Path, help="a folder `ilr judge export` wrote")
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("--task", type=int, default=0, help="which exported task (0-based)")
    args = parser.parse_args(argv)
    tasks = json.loads((args.export_dir / "tasks.json").read_text())
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp) / "label-studio")
        try:
            project = server.api("POST", "/api/projects", {
                "title": f"ilr {tasks[0]['data']['stage']}",
                "label_config": (args.export_dir / "config.xml").read_text()})["id"]
            server.api("POST", f"/api/projects/{project}/import", tasks)
            listed = sorted(server.api("GET", f"/api/tasks?project={project}&page_size=1000")
                            ["tasks"], key=lambda t: t["id"])
            browser = Browser(shutil.which("chromium"), Path(tmp) / "chromium")
            try:
                seen, radios = photograph_task(server, browser, project, listed[args.task]["id"],
                                               args.out, ["Answer (A)", "Answer (B)", "A", "B"])
            finally:
                browser.close()
        finally:
            server.stop()
    print(f"{args.out}: visible {seen}, {radios} choices")


if __name__ == "__main__":
    main()
