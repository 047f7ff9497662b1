"""The browser explorers compute what gdlab computes.

explorers.js reimplements the landscapes, the optimizers and descend for the static
book; here node runs it on the same inputs as the Python side and the trajectories must
agree within 1e-9 (same statuses, same step counts).
"""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from gdlab import descend, optim, surfaces
from gdlab.widgets.live import RegimeExplorer, optimizer_for

ESM = Path(__file__).resolve().parents[1] / "shared" / "gdlab" / "widgets" / "explorers.js"
NODE = shutil.which("node")

RUNNER = r"""
const fs = require("fs");
(async () => {
  const source = fs.readFileSync(process.argv[1], "utf8");
  const m = await import("data:text/javascript;base64," + Buffer.from(source).toString("base64"));
  const cases = JSON.parse(fs.readFileSync(0, "utf8"));
  const out = cases.map((c) => {
    const land = c.curvature ? m.quadratic1d(c.curvature) : m.LANDSCAPES[c.landscape];
    const opt = c.label
      ? m.optimizerFor(c.label, c.lr)
      : m.makeOptimizer(c.optimizer ?? "sgd", c.hyper ?? { lr: c.lr });
    const run = m.descend(land, c.x0, opt, c.steps);
    return { ...run, regime: c.curvature ? m.regime(c.lr, c.curvature) : null };
  });
  process.stdout.write(JSON.stringify(out));
})();
"""

CASES = [
    dict(landscape="valley", x0=[0.0], optimizer="sgd", hyper=dict(lr=0.1), steps=20),
    dict(landscape="valley", x0=[0.0], optimizer="sgd", hyper=dict(lr=0.9), steps=500),
    dict(landscape="bowl", x0=[0.0], optimizer="sgd", hyper=dict(lr=1.0), steps=500),
    dict(landscape="bowl", x0=[0.0], optimizer="sgd", hyper=dict(lr=1.1), steps=500),
    dict(landscape="double_well", x0=[2.5], optimizer="sgd", hyper=dict(lr=0.01), steps=500),
    dict(landscape="double_well", x0=[-0.5], optimizer="adam", hyper=dict(lr=0.1), steps=500),
    dict(landscape="himmelblau", x0=[-4.0, -4.0], optimizer="sgd", hyper=dict(lr=0.001), steps=500),
    dict(
        landscape="himmelblau", x0=[1.0, 1.0], optimizer="sgd", hyper=dict(lr=0.01, momentum=0.9), steps=500
    ),
    dict(
        landscape="rosenbrock",
        x0=[-1.5, 2.0],
        optimizer="sgd",
        hyper=dict(lr=0.001, momentum=0.9, nesterov=True),
        steps=500,
    ),
    dict(landscape="rosenbrock", x0=[-1.5, 2.0], optimizer="adam", hyper=dict(lr=0.05), steps=500),
    dict(
        landscape="rosenbrock",
        x0=[-1.5, 2.0],
        optimizer="rmsprop",
        hyper=dict(lr=0.01, momentum=0.5),
        steps=300,
    ),
    dict(
        landscape="rosenbrock",
        x0=[0.0, 0.0],
        optimizer="adagrad",
        hyper=dict(lr=0.5, lr_decay=0.01),
        steps=500,
    ),
    dict(landscape="saddle", x0=[1.0, 1e-6], optimizer="sgd", hyper=dict(lr=0.1), steps=200),
    dict(
        landscape="revenue",
        x0=[0.0, 0.0],
        optimizer="adamw",
        hyper=dict(lr=1.0, weight_decay=0.01),
        steps=500,
    ),
    dict(landscape="himmelblau", x0=[0.0, 0.0], optimizer="sgd", hyper=dict(lr=0.1), steps=500),  # diverges
    dict(landscape="himmelblau", x0=[2.0, 2.0], label="nesterov", lr=0.002, steps=500),
    dict(landscape="himmelblau", x0=[2.0, 2.0], label="adam", lr=0.1, steps=500),
    dict(curvature=2.0, x0=[2.5], lr=1.0, steps=30),
    dict(curvature=1.5, x0=[2.5], lr=0.9, steps=100),
    dict(curvature=3.0, x0=[2.5], lr=0.7, steps=500),
]


def python_run(case):
    if "curvature" in case:
        explorer = RegimeExplorer(
            lr=case["lr"], curvature=case["curvature"], x0=case["x0"][0], steps=case["steps"]
        )
        return explorer.trajectory(), explorer.regime
    land = surfaces.by_name(case["landscape"])
    opt = (
        optimizer_for(case["label"], case["lr"])
        if "label" in case
        else optim.by_name(case["optimizer"], **case["hyper"])
    )
    return descend(land, case["x0"], opt, case["steps"]), None


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_browser_trajectories_equal_gdlab_within_1e_9():
    result = subprocess.run(
        [NODE, "-e", RUNNER, str(ESM)], input=json.dumps(CASES), capture_output=True, text=True, check=True
    )
    js_runs = json.loads(result.stdout)
    statuses = set()
    for case, js in zip(CASES, js_runs, strict=True):
        py, regime = python_run(case)
        label = json.dumps(case)
        assert js["status"] == py.status, label
        assert js["convergedAt"] == py.converged_at and js["divergedAt"] == py.diverged_at, label
        np.testing.assert_allclose(
            np.array(js["positions"]), py.positions, rtol=1e-9, atol=1e-9, err_msg=label
        )
        np.testing.assert_allclose(np.array(js["losses"]), py.losses, rtol=1e-9, atol=1e-9, err_msg=label)
        np.testing.assert_allclose(
            np.array(js["gradNorms"]), py.grad_norms, rtol=1e-9, atol=1e-9, err_msg=label
        )
        assert js["regime"] == regime, label
        statuses.add(py.status)
    assert statuses == {"converged", "diverged", "running"}, "the cases must cover every status"


def test_node_is_there_in_ci():
    # CI must run the comparison above, not skip it.
    import os

    if os.environ.get("CI"):
        assert NODE is not None
