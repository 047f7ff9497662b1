"""Record how long `make book` and `make test` take, for `make bench` to report.

`python tests/timings.py start NAME` notes the time (and whether _build/html existed,
so a clean build can be told from an incremental one); `stop NAME` writes the duration
to _build/timings.json.
"""

import json
import sys
import time
from pathlib import Path

BUILD = Path("_build")
TIMINGS = BUILD / "timings.json"


def main(action, name):
    marker = BUILD / f".{name}.start"
    BUILD.mkdir(exist_ok=True)
    if action == "start":
        clean = not (BUILD / "html").exists() if name == "book" else True
        marker.write_text(json.dumps({"t": time.time(), "clean": clean}))
        return
    started = json.loads(marker.read_text())
    timings = json.loads(TIMINGS.read_text()) if TIMINGS.exists() else {}
    timings[name] = {
        "seconds": round(time.time() - started["t"], 1),
        "clean": started["clean"],
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    TIMINGS.write_text(json.dumps(timings, indent=2))
    marker.unlink()
    print(f"make {name}: {timings[name]['seconds']} s")


if __name__ == "__main__":
    main(*sys.argv[1:3])
