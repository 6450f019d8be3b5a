"""A ``trapline worker`` process for end-to-end and fault tests, with its log."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from tests.support.processes import clean_env, trapline_command

#: The built-in pipeline test workers serve.
PIPELINE = "trapline-constant"
#: Seconds a test waits for a worker to exit.
WAIT = 60.0


class Worker:
    """A ``trapline worker --pipeline trapline-constant`` process talking to ``url`` with
    ``token``."""

    def __init__(self, url: str, token: str, folder: Path, name: str, *args: str) -> None:
        self.name = name
        self.log_path = folder / f"worker-{name}.log"
        env = clean_env(TRAPLINE_API_URL=url, TRAPLINE_TOKEN=token)
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                trapline_command("worker", "--pipeline", PIPELINE, "--name", name, *args),
                env=env,
                cwd=folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float = WAIT) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"worker {self.name} did not exit:\n{self.log()}") from None

    def drain(self) -> int:
        """SIGTERM, then wait for the exit code."""
        self.signal(signal.SIGTERM)
        return self.wait()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
