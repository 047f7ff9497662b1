"""The browser explorers of chapters 01, 03, 04 and 08 compute what their Python side computes.

node runs explorers.js on the tables each explorer hands the browser and on the settings
below; the curves, readings, fits, schedules and mini-batch runs must equal the Python
explorer's (gdlab) within 1e-9 (1e-12 for the schedules, and exactly for the generator);
08's recorded runs must read back as Python decodes them, and state what Python states.
"""

import itertools
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from gdlab import data
from gdlab.regularization import precompute_grid
from gdlab.widgets.batch_size import BatchSizeExplorer, mulberry32, permutation
from gdlab.widgets.learning_rate import SCHEDULES, SETTINGS, TABLE, ScheduleExplorer
from gdlab.widgets.loss_shapes import LossShapesExplorer, OutlierExplorer
from gdlab.widgets.regularization import RegularizationExplorer, decode_grid

ESM = Path(__file__).resolve().parents[1] / "shared" / "gdlab" / "widgets" / "explorers.js"
NODE = shutil.which("node")

if NODE is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must run the node comparisons: node is missing")
    pytest.skip("node is not installed", allow_module_level=True)

RUNNER = r"""
const fs = require("fs");
(async () => {
  const source = fs.readFileSync(process.argv[1], "utf8");
  const m = await import("data:text/javascript;base64," + Buffer.from(source).toString("base64"));
  const { task, cases, table } = JSON.parse(fs.readFileSync(0, "utf8"));
  const run = {
    shapes: (c) => m.lossShapes(c, table),
    outliers: (c) => {
      const y = m.outlierTargets(table, c.count, c.shift);
      return { y, fits: m.fitLines(table.x, y, c.delta, table.lr, c.steps) };
    },
    schedules: (c) => {
      try {
        return { rates: m.scheduleRates(table, c) };
      } catch (error) {
        return { error: error.message };
      }
    },
    batch: (c) => m.batchRun(table, c),
    regularization: (c) => {
      const s = m.regularizationRuns(table).at(c.weight_decay, c.dropout, c.epoch);
      const { train, val, prediction } = s;
      return { ...s, train: [...train], val: [...val], prediction: [...prediction] };
    },
    random: (c) => {
      const draw = m.mulberry32(c.seed);
      const numbers = Array.from({ length: c.count }, draw);
      return { numbers, order: m.permutation(c.n, m.mulberry32(c.seed)) };
    },
  }[task];
  process.stdout.write(JSON.stringify(cases.map(run)));
})();
"""


def node(task, cases, table=None):
    payload = json.dumps({"task": task, "cases": cases, "table": table})
    result = subprocess.run(
        [NODE, "-e", RUNNER, str(ESM)], input=payload, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def close(a, b, tol=1e-9):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=tol, atol=tol)


# --- 01 ---------------------------------------------------------------------------------------


SHAPE_CASES = [
    dict(error=e, delta=d, p_t=p, gamma=g)
    for e, d, p, g in [
        (2.0, 1.0, 0.9, 2.0),
        (-1.5, 2.5, 0.3, 0.0),
        (0.0, 0.1, 0.01, 5.0),
        (4.0, 4.0, 0.99, 0.5),
        (-3.95, 0.55, 0.5, 1.3),
        (0.05, 3.0, 0.77, 2.0),
    ]
]


def test_loss_shapes_curves_and_readings_equal_gdlab_losses_within_1e_9():
    explorer = LossShapesExplorer()
    js_all = node("shapes", SHAPE_CASES, explorer.grids)
    for case, js in zip(SHAPE_CASES, js_all, strict=True):
        for name, value in case.items():
            setattr(explorer, name, value)
        values, grads, focal, readings = explorer.compute()
        close(js["errors"], np.linspace(*explorer.ERRORS))
        close(js["probs"], np.linspace(*explorer.P_T))
        for name in values:
            close(js["values"][name], values[name])
            close(js["grads"][name], grads[name])
        close(js["focal"], focal)
        r = js["readings"]
        for field in ("mse", "mae", "huber", "bce", "focal"):
            close(r[field], getattr(readings, field))
        close(r["factor"], readings.factor)


OUTLIER_CASES = [
    dict(count=c, shift=s, delta=d, steps=k)
    for c, s, d, k in [
        (4, 20.0, 1.0, 300),
        (0, 20.0, 1.0, 300),
        (10, 50.0, 0.2, 1000),
        (7, 3.0, 5.0, 50),
        (1, 0.0, 2.3, 10),
    ]
]


def test_outlier_data_and_the_three_fits_equal_python_within_1e_9():
    explorer = OutlierExplorer()
    js_all = node("outliers", OUTLIER_CASES, explorer.points)
    for case, js in zip(OUTLIER_CASES, js_all, strict=True):
        for name, value in case.items():
            setattr(explorer, name, value)
        dataset, fits = explorer.compute()
        assert js["y"] == dataset.y.tolist(), case  # the browser rebuilds data.linear exactly
        close(js["fits"], fits)


def test_every_count_the_slider_reaches_rebuilds_data_linear_bit_for_bit():
    table = OutlierExplorer().points
    for count in range(len(table["shifted"])):
        d = data.linear(n=40, weights=(2.0,), bias=1.0, noise=0.5, outliers=count, outlier_shift=13.0, seed=0)
        y = np.array(table["y"])
        for i, noise in zip(table["shifted"][count]["index"], table["shifted"][count]["noise"]):
            y[i] = y[i] + (13.0 + noise)
        assert np.array_equal(y, d.y)
        assert sorted(table["shifted"][count]["index"]) == np.flatnonzero(d.is_outlier).tolist()


# --- 03 ---------------------------------------------------------------------------------------


def schedule_cases():
    cases = []
    for name in SCHEDULES:
        for lr, steps in [(0.1, 100), (1.0, 500), (3e-4, 37)]:
            cases.append({"schedule": name, "lr": lr, "steps": steps})
    cases += [
        {"schedule": "step", "lr": 0.5, "steps": 300, "step_size": 7, "gamma": 0.37},
        {"schedule": "exponential", "lr": 0.2, "steps": 500, "decay": 0.999},
        {"schedule": "cosine", "lr": 0.05, "steps": 400, "T_max": 150, "eta_min": 0.25},
        {"schedule": "cosine_warm_restarts", "lr": 0.1, "steps": 500, "T_0": 5, "T_mult": 3, "eta_min": 0.1},
        {"schedule": "cosine_warm_restarts", "lr": 0.1, "steps": 200, "T_0": 17, "T_mult": 1},
        {
            "schedule": "warmup_cosine",
            "lr": 0.1,
            "steps": 500,
            "warmup_steps": 0,
            "total_steps": 300,
            "eta_min": 0.5,
        },
        {"schedule": "warmup_cosine", "lr": 0.1, "steps": 100, "warmup_steps": 150},  # invalid
        {
            "schedule": "one_cycle",
            "lr": 0.7,
            "steps": 500,
            "total_steps": 120,
            "pct_start": 0.45,
            "div_factor": 3.0,
            "final_div_factor": 10.0,
        },
        {"schedule": "one_cycle", "lr": 0.7, "steps": 100, "total_steps": 10, "pct_start": 0.05},  # invalid
    ]
    defaults = {name: spec["default"] for name, spec in SETTINGS.items()}
    return [{**defaults, **case} for case in cases]


def test_every_schedule_equals_gdlab_schedules_within_1e_12_and_fails_with_its_message():
    cases = schedule_cases()
    explorer = ScheduleExplorer()
    js_all = node("schedules", cases, explorer.table)
    assert {c["schedule"] for c in cases} == set(SCHEDULES) == set(TABLE)
    invalid = 0
    for case, js in zip(cases, js_all, strict=True):
        for name, value in case.items():
            setattr(explorer, name, value)
        if explorer.error is not None:
            invalid += 1
            assert js == {"error": explorer.error}, case
            continue
        assert "rates" in js, (case, js)
        close(js["rates"], explorer.rates, tol=1e-12)
    assert invalid == 2


# --- 04 ---------------------------------------------------------------------------------------


def test_the_generator_and_the_shuffle_are_the_same_numbers_in_python_and_the_browser():
    cases = [{"seed": s, "count": 1000, "n": 256} for s in (0, 1, 7, 20, 2**31 + 5)]
    for case, js in zip(cases, node("random", cases), strict=True):
        draw = mulberry32(case["seed"])
        assert js["numbers"] == [draw() for _ in range(case["count"])]
        order = permutation(case["n"], mulberry32(case["seed"]))
        assert js["order"] == order and sorted(order) == list(range(case["n"]))


BATCH_CASES = [
    dict(batchSize=b, lr=lr, epochs=e, seed=s)
    for b, lr, e, s in [
        (16, 0.05, 10, 0),
        (1, 0.05, 40, 3),
        (256, 0.5, 40, 0),
        (1, 1.0, 40, 0),
        (64, 0.9, 7, 20),
        (128, 0.001, 2, 5),
    ]
]


def test_mini_batch_runs_equal_python_update_by_update():
    explorer = BatchSizeExplorer()
    js_all = node("batch", BATCH_CASES, explorer.problem)
    statuses = set()
    for case, js in zip(BATCH_CASES, js_all, strict=True):
        explorer.batch_size, explorer.lr, explorer.epochs, explorer.seed = (
            case["batchSize"],
            case["lr"],
            case["epochs"],
            case["seed"],
        )
        run = explorer.run
        assert js["divergedAt"] == run.diverged_at and js["updatesPerEpoch"] == run.updates_per_epoch, case
        assert js["epochEnds"] == run.epoch_ends.tolist(), case
        close(js["positions"], run.positions)
        close(js["excess"], explorer.excess, tol=1e-9)
        statuses.add(run.diverged)
    assert statuses == {True, False}, "the cases must include a diverging run"


def test_the_runs_are_real_sgd_on_the_data_the_page_carries():
    explorer = BatchSizeExplorer(batch_size=256, lr=0.05, epochs=3)
    X, y = explorer.data.X, explorer.data.y
    w = np.zeros(2)
    for _ in range(3):  # full batch: plain gradient descent, whatever the shuffle
        w = w - 0.05 * 2 / len(y) * X.T @ (X @ w - y)
    close(explorer.run.positions[-1], w, tol=1e-12)
    losses = np.mean((explorer.run.positions @ X.T - y) ** 2, axis=1)
    close(explorer.run.losses, losses, tol=1e-9)
    assert list(itertools.chain(explorer.problem["x1"], explorer.problem["x2"])) == X.T.ravel().tolist()


# --- 08 ---------------------------------------------------------------------------------------


def test_recorded_runs_read_back_in_the_browser_as_python_decodes_them(small_torch):
    def pair(regression):
        x = torch.as_tensor(regression.X, dtype=torch.float32)
        return x, torch.as_tensor(regression.y, dtype=torch.float32).unsqueeze(1)

    x_grid = np.linspace(-1, 1, 31)
    grid = precompute_grid(
        lambda p: torch.nn.Sequential(
            torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Dropout(p), torch.nn.Linear(8, 1)
        ),
        pair(data.polynomial(n=12, noise=0.3, seed=0)),
        pair(data.polynomial(n=30, noise=0.3, seed=1)),
        x_grid,
        weight_decays=(0.0, 1.0, 3.0),
        dropouts=(0.0, 0.2),
        epochs=12,
        lr=0.05,
        true_curve=np.polynomial.polynomial.polyval(x_grid, (0.5, -1.0, 0.0, 2.0)),
    )
    explorer = RegularizationExplorer(grid)
    cases = [
        dict(weight_decay=w, dropout=p, epoch=k)
        for w in (0.0, 1.0, 3.0)
        for p in (0.0, 0.2)
        for k in (1, 5, 12)
    ]
    decoded = decode_grid(explorer.runs)
    for case, js in zip(cases, node("regularization", cases, explorer.runs), strict=True):
        explorer.weight_decay, explorer.dropout, explorer.epoch = case.values()
        state = explorer.state
        i, j = grid.position(case["weight_decay"], case["dropout"])
        k = case["epoch"] - 1
        close(js["train"], decoded["train_loss"][i, j], tol=1e-12)
        close(js["val"], decoded["val_loss"][i, j], tol=1e-12)
        close(js["prediction"], decoded["predictions"][i, j, k], tol=1e-12)
        assert (js["status"], js["bestEpoch"]) == (state["status"], state["best_epoch"]), case
        np.testing.assert_allclose(
            [js["trainLoss"], js["valLoss"], js["bestValLoss"], js["rms"]],
            [state["train_loss"], state["val_loss"], state["best_val_loss"], state["rms_to_truth"]],
            rtol=1e-4,
        )
