"""A slow job the suite starts at collection and waits for at the end: the book build
(conftest.py) and the Binder environment (test_binder.py). Each runs in a scratch folder of its
own, its output in a log there, and the folder goes when the test run ends."""

import atexit
import shutil
import subprocess
import tempfile
from pathlib import Path


class BackgroundJob:
    def __init__(self, prefix):
        self.where = Path(tempfile.mkdtemp(prefix=prefix))
        self.log = self.where / "build.log"
        self.process = None
        atexit.register(self.remove)

    def start(self, command, **popen):
        """Start ``command`` (``subprocess.Popen``'s arguments), stdout and stderr to the log."""
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, **popen)

    def finish(self):
        """Wait for the job; its return code and its log."""
        return self.process.wait(), self.log.read_text()

    def remove(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.where, ignore_errors=True)
