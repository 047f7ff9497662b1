"""The browser explorers compute what gdlab computes, with the tables Python gives them.

explorers.js keeps only the maths (each landscape, each optimizer step, descend, the
formula parser); every table comes from ``gdlab.widgets.live.tables()``. Here node runs
the module on the same inputs as the Python side: every landscape x every optimizer
preset x several starts, each named optimizer's hyperparameters, and typed formulas.
Trajectories must agree within 1e-9 (same statuses, same step counts), and a table
changed in the data must change what the browser computes, the same way it changes gdlab.
"""

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from gdlab import descend, formula, optim, plotting, surfaces
from gdlab.widgets.live import (
    CurveExplorer,
    LandscapeExplorer,
    OptimizerRace,
    RegimeExplorer,
    optimizer_for,
    tables,
)

ESM = Path(__file__).resolve().parents[1] / "shared" / "gdlab" / "widgets" / "explorers.js"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")

# Each case names its landscape (a table entry, a typed formula or chapter 03's parabola),
# its optimizer (a preset label, or a gdlab.optim name with hyperparameters) and may carry
# its own tables. Errors come back as {"error": message}.
RUNNER = r"""
const fs = require("fs");
(async () => {
  const source = fs.readFileSync(process.argv[1], "utf8");
  const m = await import("data:text/javascript;base64," + Buffer.from(source).toString("base64"));
  const { tables, cases } = JSON.parse(fs.readFileSync(0, "utf8"));
  const out = cases.map((c) => {
    const t = c.tables ?? tables;
    try {
      if (c.parse !== undefined) return { tree: m.parseFormula(t, c.parse, c.dim) };
      if (c.bounds_of) return { bounds: m.landscapeFrom(t, c.bounds_of).bounds };
      const land = c.curvature
        ? m.quadratic1d(t, c.curvature)
        : c.formula
          ? m.formulaLandscape(t, c.formula, c.x0.length)
          : m.landscapeFrom(t, c.landscape);
      const opt = c.label ? m.optimizerFor(t, c.label, c.lr) : m.makeOptimizer(t, c.optimizer, c.hyper);
      const run = m.descend(t, land, c.x0, opt, c.steps);
      return { ...run, regime: c.curvature ? m.regime(t, c.lr, c.curvature) : null };
    } catch (error) {
      return { error: error.message };
    }
  });
  process.stdout.write(JSON.stringify(out));
})();
"""


def run_node(cases, base=None):
    payload = {"tables": base or tables(), "cases": cases}
    result = subprocess.run(
        [NODE, "-e", RUNNER, str(ESM)], input=json.dumps(payload), capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def assert_same_run(js, py, label):
    assert "error" not in js, f"{label}: {js.get('error')}"
    assert js["status"] == py.status, label
    assert js["convergedAt"] == py.converged_at and js["divergedAt"] == py.diverged_at, label
    for key, expected in [("positions", py.positions), ("losses", py.losses), ("gradNorms", py.grad_norms)]:
        np.testing.assert_allclose(
            np.array(js[key]), expected, rtol=1e-9, atol=1e-9, err_msg=f"{label} {key}"
        )


# --- every landscape x every preset x several starts -------------------------------------

# A rate each landscape is explored at in the book's explorers, and three starts on it.
GRID = {
    "valley": (0.1, [[0.0], [4.5], [-0.8]]),
    "bowl": (0.3, [[0.0], [6.5], [2.0]]),
    "double_well": (0.01, [[2.5], [-0.5], [0.3]]),
    "himmelblau": (0.01, [[-4.0, -4.0], [0.0, 0.0], [1.0, 4.0]]),
    "rosenbrock": (0.001, [[-1.5, 2.0], [0.0, 0.0], [1.5, -0.5]]),
    "saddle": (0.1, [[1.0, 0.0], [1.0, 0.1], [-1.5, 1e-6]]),
    "revenue": (0.1, [[0.0, 0.0], [70.0, 45.0], [40.0, 0.0]]),
}
PRESETS = list(tables()["presets"])
MATRIX = [
    dict(landscape=name, x0=x0, label=label, lr=lr, steps=300)
    for name, (lr, starts) in GRID.items()
    for x0 in starts
    for label in PRESETS
]

# Each named optimizer with hyperparameters the presets leave at their defaults.
HYPER_CASES = [
    dict(landscape="bowl", x0=[0.0], optimizer="sgd", hyper=dict(lr=1.1), steps=500),
    dict(landscape="double_well", x0=[-0.5], optimizer="adam", hyper=dict(lr=0.1), steps=500),
    dict(
        landscape="himmelblau", x0=[1.0, 1.0], optimizer="sgd", hyper=dict(lr=0.01, momentum=0.9), steps=500
    ),
    dict(
        landscape="himmelblau",
        x0=[1.0, 1.0],
        optimizer="sgd",
        hyper=dict(lr=0.01, momentum=0.5, dampening=0.3, weight_decay=0.1),
        steps=300,
    ),
    dict(
        landscape="rosenbrock",
        x0=[-1.5, 2.0],
        optimizer="rmsprop",
        hyper=dict(lr=0.01, momentum=0.5),
        steps=300,
    ),
    dict(
        landscape="rosenbrock",
        x0=[-1.5, 2.0],
        optimizer="rmsprop",
        hyper=dict(lr=0.001, centered=True),
        steps=400,
    ),
    dict(
        landscape="himmelblau",
        x0=[-4.0, -4.0],
        optimizer="rmsprop",
        hyper=dict(lr=0.01, centered=True, momentum=0.9, alpha=0.9, weight_decay=0.01),
        steps=300,
    ),
    dict(
        landscape="rosenbrock",
        x0=[0.0, 0.0],
        optimizer="adagrad",
        hyper=dict(lr=0.5, lr_decay=0.01),
        steps=500,
    ),
    dict(
        landscape="himmelblau",
        x0=[2.0, 2.0],
        optimizer="adagrad",
        hyper=dict(lr=0.5, initial_accumulator_value=0.1, eps=1e-6, weight_decay=0.01),
        steps=200,
    ),
    dict(
        landscape="revenue",
        x0=[0.0, 0.0],
        optimizer="adamw",
        hyper=dict(lr=1.0, weight_decay=0.01),
        steps=500,
    ),
    dict(
        landscape="himmelblau",
        x0=[0.0, 0.0],
        optimizer="adam",
        hyper=dict(lr=0.05, betas=[0.8, 0.99], eps=1e-6, weight_decay=0.01),
        steps=300,
    ),
    dict(landscape="himmelblau", x0=[0.0, 0.0], optimizer="sgd", hyper=dict(lr=0.1), steps=500),  # diverges
]

# Typed formulas: the chapters' two examples, and one using every function of the grammar.
EVERYTHING = (
    "sin(x) + cos(y)^2 - tan(x/4) + exp(-y^2) + log(2 + x^2) + sqrt(1 + y^2) + abs(x - y)"
    " + tanh(x*y) + 2^(-x) + x^2.5/10 + pi*e/y^-2"
)
FORMULA_CASES = (
    [
        dict(formula="x^4 - 8*x^2 + x", x0=[x0], label="sgd", lr=0.01, steps=500)
        for x0 in (2.5, -0.5, 0.3, 3.5)
    ]
    + [
        dict(formula="(1 - x)^2 + 100*(y - x^2)^2", x0=[-1.5, 2.0], label=label, lr=0.001, steps=1000)
        for label in PRESETS
    ]
    + [
        dict(formula="x^4 - 8*x^2 + x", x0=[2.5], label="sgd", lr=0.04, steps=500),  # diverges
        dict(formula=EVERYTHING, x0=[0.7, 1.2], label="adam", lr=0.01, steps=300),
        dict(
            formula="(x^2 + y - 11)**2 + (x + y**2 - 7)**2",
            x0=[-4.0, -4.0],
            label="momentum",
            lr=0.001,
            steps=500,
        ),
    ]
)


def python_run(case):
    if "curvature" in case:
        explorer = RegimeExplorer(
            lr=case["lr"], curvature=case["curvature"], x0=case["x0"][0], steps=case["steps"]
        )
        return explorer.trajectory(), explorer.regime
    if "formula" in case:
        land = formula.landscape(case["formula"], len(case["x0"]))
    else:
        land = surfaces.by_name(case["landscape"])
    if "label" in case:
        opt = optimizer_for(case["label"], case["lr"])
    else:
        opt = optim.by_name(case["optimizer"], **case["hyper"])
    return descend(land, case["x0"], opt, case["steps"]), None


@needs_node
def test_every_landscape_and_preset_from_several_starts_follows_gdlab_within_1e_9():
    statuses = set()
    for case, js in zip(MATRIX, run_node(MATRIX), strict=True):
        py, _ = python_run(case)
        assert_same_run(js, py, json.dumps(case))
        statuses.add(py.status)
    assert statuses == {"converged", "diverged", "running"}, "the grid must cover every status"
    assert len(MATRIX) == 7 * 3 * len(PRESETS) and {c["landscape"] for c in MATRIX} == set(
        tables()["landscapes"]
    )


@needs_node
def test_each_optimizer_hyperparameter_follows_gdlab_including_centered_rmsprop():
    for case, js in zip(HYPER_CASES, run_node(HYPER_CASES), strict=True):
        assert_same_run(js, python_run(case)[0], json.dumps(case))
    # centered really changes the run (the browser used to ignore it).
    plain = dict(HYPER_CASES[5], hyper=dict(lr=0.001))
    centered, uncentered = run_node([HYPER_CASES[5], plain])
    assert not np.allclose(centered["positions"][-1], uncentered["positions"][-1], atol=1e-3)


@needs_node
def test_chapter_03_regimes_follow_gdlab():
    cases = [
        dict(curvature=2.0, x0=[2.5], lr=1.0, steps=30, label="sgd"),
        dict(curvature=1.5, x0=[2.5], lr=0.9, steps=100, label="sgd"),
        dict(curvature=3.0, x0=[2.5], lr=0.7, steps=500, label="sgd"),
        dict(curvature=2.0, x0=[1.0], lr=0.1, steps=20, label="sgd"),
    ]
    for case, js in zip(cases, run_node(cases), strict=True):
        py, regime = python_run(case)
        assert_same_run(js, py, json.dumps(case))
        assert js["regime"] == regime


@needs_node
def test_a_typed_formula_descends_as_gdlab_descends_the_same_formula():
    for case, js in zip(FORMULA_CASES, run_node(FORMULA_CASES), strict=True):
        assert_same_run(js, python_run(case)[0], json.dumps(case))
    # Typed, Rosenbrock is the built-in Rosenbrock (the same path to 1e-9).
    typed = CurveExplorer(formula="x^4 - 8*x^2 + x", x0=2.5, lr=0.01, steps=500).trajectory()
    builtin = CurveExplorer(function="double_well", x0=2.5, lr=0.01, steps=500).trajectory()
    np.testing.assert_allclose(typed.positions, builtin.positions, rtol=1e-12, atol=1e-12)


BAD_FORMULAS = [
    ("", 1),
    ("   ", 2),
    ("x +* 2", 1),
    ("2x", 1),
    ("x y", 2),
    ("sin x", 1),
    ("sinh(x)", 1),
    ("z + 1", 2),
    ("exp(y)", 1),
    ("(x + 1", 1),
    ("x)", 1),
    ("x # 2", 1),
    ("x'", 1),
    ("x ^", 1),
    ("1e", 1),
    ("3 ** ** 2", 1),
    ("x" * 201, 1),
    ("x²", 1),
]


@needs_node
def test_a_formula_that_fails_fails_with_the_same_message_on_both_sides():
    js = run_node([dict(parse=text, dim=dim) for text, dim in BAD_FORMULAS])
    for (text, dim), answer in zip(BAD_FORMULAS, js, strict=True):
        with pytest.raises(ValueError) as refused:
            formula.parse(text, dim)
        assert answer == {"error": str(refused.value)}, text
    good = ["x^4 - 8*x^2 + x", "-x^2", "2^-1*x", "(1 - x)^2 + 100*(y - x^2)^2", "1e-3*x + .5e+2", EVERYTHING]
    trees = run_node([dict(parse=text, dim=2) for text in good])
    for text, answer in zip(good, trees, strict=True):
        assert answer["tree"] == json.loads(json.dumps(formula.parse(text, 2))), text


# --- the tables: Python's, and used as given ------------------------------------------------


def test_every_explorer_sends_gdlabs_tables_and_they_survive_json():
    made = tables()
    assert json.loads(json.dumps(made)) == made
    for explorer in (CurveExplorer(), RegimeExplorer(), LandscapeExplorer(), OptimizerRace()):
        assert explorer.tables == made and explorer.get_state()["tables"] == made
        assert set(explorer.url_traits) <= set(explorer.trait_names())
        explorer.close()
    assert made["palette"] == plotting.PALETTE and made["sequence"] == plotting.SEQUENCE
    for name, entry in made["landscapes"].items():
        land = surfaces.by_name(name)
        assert entry == {"dim": land.dim, "text": land.text, "bounds": [list(b) for b in land.bounds]}
    assert made["optimizers"]["rmsprop"]["centered"] is False


def test_the_browser_module_keeps_no_table_of_its_own():
    source = ESM.read_text()
    for colour in plotting.SEQUENCE + list(plotting.PALETTE.values()):
        assert colour.lower() not in source.lower(), f"{colour} is a palette colour: it belongs to the tables"
    for name, entry in tables()["landscapes"].items():
        assert entry["text"] not in source, f"the description of {name} belongs to the tables"
    assert "1e-8" not in source and "1e8" not in source and "0.999" not in source


def _changed(edit):
    changed = copy.deepcopy(tables())
    edit(changed)
    return changed


@needs_node
def test_a_table_changed_in_the_data_changes_what_the_browser_computes():
    bowl = dict(landscape="bowl", x0=[0.0], label="sgd", lr=1.1, steps=500)
    valley = dict(landscape="valley", x0=[0.0], label="sgd", lr=0.1, steps=500)
    cases = [
        dict(bowl, tables=_changed(lambda t: t["descend"].update(escape_radius=50.0))),
        dict(valley, tables=_changed(lambda t: t["descend"].update(tol=1e-3))),
        dict(
            landscape="himmelblau",
            x0=[1.0, 1.0],
            label="momentum",
            lr=0.01,
            steps=200,
            tables=_changed(lambda t: t["presets"]["momentum"]["hyper"].update(momentum=0.5)),
        ),
        dict(
            landscape="rosenbrock",
            x0=[-1.5, 2.0],
            label="rmsprop",
            lr=0.001,
            steps=300,
            tables=_changed(lambda t: t["optimizers"]["rmsprop"].update(alpha=0.9, centered=True)),
        ),
        dict(
            bounds_of="himmelblau",
            tables=_changed(lambda t: t["landscapes"]["himmelblau"].update(bounds=[[-7, 7], [-6, 6]])),
        ),
        dict(
            formula="pi*x^2",
            x0=[1.0],
            label="sgd",
            lr=0.1,
            steps=3,
            tables=_changed(lambda t: t["formula"]["constants"].update(pi=3.0)),
        ),
    ]
    escaped, loose, slow, tuned, bounds, pi3 = run_node(cases)
    expected = descend(surfaces.bowl, [0.0], optim.sgd(lr=1.1), 500, escape_radius=50.0)
    assert_same_run(escaped, expected, "escape radius 50")
    assert escaped["divergedAt"] < python_run(bowl)[0].diverged_at
    assert_same_run(loose, descend(surfaces.valley, [0.0], optim.sgd(lr=0.1), 500, tol=1e-3), "tol 1e-3")
    assert_same_run(
        slow, descend(surfaces.himmelblau, [1.0, 1.0], optim.sgd(lr=0.01, momentum=0.5), 200), "μ 0.5"
    )
    expected = descend(
        surfaces.rosenbrock, [-1.5, 2.0], optim.rmsprop(lr=0.001, alpha=0.9, centered=True), 300
    )
    assert_same_run(tuned, expected, "rmsprop defaults from the tables")
    assert bounds == {"bounds": [[-7, 7], [-6, 6]]}
    assert_same_run(pi3, descend(formula.landscape("3*x^2"), [1.0], optim.sgd(lr=0.1), 3), "pi = 3")


@needs_node
def test_what_the_browser_does_not_implement_is_refused_not_ignored():
    base = dict(landscape="valley", x0=[0.0], lr=0.1, steps=5)
    cases = [
        dict(base, optimizer="rmsprop", hyper=dict(lr=0.1, foreach=True)),
        dict(base, label="sgd", tables=_changed(lambda t: t["optimizers"]["sgd"].update(maximize=False))),
        dict(
            base,
            label="lion",
            tables=_changed(lambda t: t["presets"].update(lion={"optimizer": "lion", "hyper": {}})),
        ),
        dict(
            base,
            optimizer="lion",
            hyper=dict(lr=0.1),
            tables=_changed(lambda t: t["optimizers"].update(lion={"lr": None})),
        ),
        dict(
            base,
            landscape="everest",
            label="sgd",
            tables=_changed(
                lambda t: t["landscapes"].update(everest={"dim": 1, "text": "", "bounds": [[0, 1]]})
            ),
        ),
        dict(
            formula="x^2",
            x0=[1.0],
            label="sgd",
            lr=0.1,
            steps=5,
            tables=_changed(lambda t: t["formula"]["functions"].append("erf")),
        ),
        dict(base, optimizer="sgd", hyper=dict(lr=-0.1)),
    ]
    messages = [answer.get("error") for answer in run_node(cases)]
    assert messages == [
        "the browser's rmsprop does not implement the hyperparameter foreach",
        "the browser's sgd does not implement the hyperparameter maximize",
        "unknown optimizer lion; the tables offer sgd, adagrad, rmsprop, adam, adamw",
        "the browser does not implement the optimizer lion",
        "the browser has no formula for the landscape everest",
        "the browser does not implement the function erf",
        "Invalid learning rate: -0.1",
    ]


def test_python_refuses_a_formula_that_does_not_parse_or_is_not_finite_at_the_start():
    with pytest.raises(ValueError, match="unknown name 'y'"):
        CurveExplorer(formula="x + y")
    explorer = LandscapeExplorer(formula="(1 - x)^2 + 100*(y - x^2)^2", x0=(-1.5, 2.0))
    assert explorer.trajectory().status == "running"
    explorer.formula = "log(x) + y^2"
    with pytest.raises(ValueError, match="not finite at the start"):
        explorer.trajectory()
    explorer.close()


def test_node_is_there_in_ci():
    # CI must run the comparisons above, not skip them.
    if os.environ.get("CI"):
        assert NODE is not None
