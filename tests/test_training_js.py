"""Chapter 06's training explorer replays the same frames in the browser as in Python.

explorers.js's ``trainingFrame`` (what the static book shows when Train replays a recorded
run) must equal :func:`gdlab.widgets.dashboard.replay_frame` on the same payload: the same
snapped settings, epochs, losses, card values and recorded verdict, number for number.
"""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from gdlab.curves import History
from gdlab.recorded import Recording, record_grid
from gdlab.widgets.dashboard import _mlp, replay_frame

ESM = Path(__file__).resolve().parents[1] / "shared" / "gdlab" / "widgets" / "explorers.js"
NODE = shutil.which("node")

RUNNER = r"""
const fs = require("fs");
(async () => {
  const source = fs.readFileSync(process.argv[1], "utf8");
  const m = await import("data:text/javascript;base64," + Buffer.from(source).toString("base64"));
  const { recorded, cases } = JSON.parse(fs.readFileSync(0, "utf8"));
  const out = cases.map((c) => m.trainingFrame(recorded, ...c));
  process.stdout.write(JSON.stringify(out));
})();
"""

# (hidden, n_train, lr, epochs, epoch): on the grid, between its points, at a tie, halfway
# between two multiples of ten epochs, past the longest run, and part-way through a replay.
CASES = [
    (2, 16, 0.01, 30, None),
    (8, 40, 0.1, 20, None),
    (4, 16, 0.01, 30, None),  # hidden 4: a tie between 2 and 8 on a log scale, the first wins
    (1, 400, 1.0, 25, None),  # 25 epochs: halves round up, to 30
    (256, 8, 1e-4, 1000, None),
    (2, 40, 0.03, 15, 7),
    (8, 16, 0.02, 30, 0),
    (8, 16, 0.02, 30, 1),
    (2, 16, 0.1, 30, 99),
]


def python_frames(recorded):
    return [replay_frame(recorded, *case) for case in CASES]


def node_frames(recorded):
    result = subprocess.run(
        [NODE, "-e", RUNNER, str(ESM)],
        input=json.dumps({"recorded": recorded, "cases": CASES}),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def assert_same(js, py, label):
    assert js["settings"] == py["settings"] and js["epochs"] == py["epochs"], label
    assert js["moved"] == py["moved"] and js["epoch"] == py["epoch"], label
    assert js["train"] == py["train"] and js["val"] == py["val"], label  # float32 values: exact
    assert js["values"] == py["values"], label
    assert js["diagnosis"] == py["diagnosis"], label


@pytest.fixture(scope="module")
def recorded(small_torch_module):
    return record_grid(_mlp, hidden=(2, 8), n_train=(16, 40), lr=(0.01, 0.1), epochs=30).payload()


@pytest.fixture(scope="module")
def small_torch_module():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_browser_replays_the_frames_python_computes(recorded):
    frames = python_frames(recorded)
    assert {f["diagnosis"] for f in frames} - {None}, "some case must end with a verdict"
    assert any(f["moved"] for f in frames) and not all(f["moved"] for f in frames)
    for case, js, py in zip(CASES, node_frames(recorded), frames, strict=True):
        assert_same(js, py, case)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_a_run_stopped_on_a_non_finite_loss_replays_as_stopped():
    short = np.float32([1.0, 0.5, 0.75]).astype(float).tolist()  # stopped after 3 good epochs of 20
    history = History(train_loss=short, val_loss=short, stopped_reason="non_finite")
    recorded = Recording((2,), (16,), (0.1,), 20, {(2, 16, 0.1): (history, 1.0, 9)}).payload()
    py = replay_frame(recorded, 2, 16, 0.1, 20)
    assert py["epoch"] == 3 and py["values"]["stopped_reason"] == "non_finite"
    assert py["diagnosis"] == "diverged"
    result = subprocess.run(
        [NODE, "-e", RUNNER, str(ESM)],
        input=json.dumps({"recorded": recorded, "cases": [[2, 16, 0.1, 20, None], [2, 16, 0.1, 10, 2]]}),
        capture_output=True,
        text=True,
        check=True,
    )
    js = json.loads(result.stdout)
    assert_same(js[0], py, "stopped")
    assert_same(js[1], replay_frame(recorded, 2, 16, 0.1, 10, 2), "part-way")


def test_node_is_there_in_ci():
    import os

    if os.environ.get("CI"):
        assert NODE is not None
