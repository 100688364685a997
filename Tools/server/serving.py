"""`glimpse serve` on a free loopback port, for the tests that drive it (the browser test and
the load test): started, waited for until /api/health answers, stopped with SIGINT (then
killed if it does not exit). Only 127.0.0.1 is ever contacted. Standard library only."""
import signal, socket, subprocess, time, urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, glimpse, model, library, *extra, stderr=subprocess.DEVNULL):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen([glimpse, "serve", "--model", model, "--db", library, "--port", str(self.port), *extra],
                                        stderr=stderr, text=True)
        for _ in range(600):
            try:
                urllib.request.urlopen(self.base + "/api/health", timeout=2).read()
                return
            except OSError:
                if self.process.poll() is not None:
                    raise SystemExit(f"glimpse serve exited with {self.process.returncode} before answering")
                time.sleep(0.1)
        self.stop()
        raise SystemExit("glimpse serve did not answer /api/health within 60 s")

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
