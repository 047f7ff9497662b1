"""Chapter 07's damping explorer: its regimes, its Python side driven headless, and its browser twin.

The explorer computes in the browser; node runs its module on the same settings as gdlab and
the iterates, roots and regimes must agree within 1e-12.
"""

import json
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdlab.widgets.live import tables
from gdlab.widgets.momentum import DAMPING_REGIMES, MomentumExplorer, critical_momentum, damping

ESM = Path(__file__).resolve().parents[1] / "shared" / "gdlab" / "widgets" / "explorers.js"
NODE = shutil.which("node")

RUNNER = r"""
const fs = require("fs");
(async () => {
  const source = fs.readFileSync(process.argv[1], "utf8");
  const m = await import("data:text/javascript;base64," + Buffer.from(source).toString("base64"));
  const { tables, cases } = JSON.parse(fs.readFileSync(0, "utf8"));
  const out = cases.map((c) => ({
    run: m.momentumRun(tables, c.lr, c.momentum, c.curvature, [c.x0], c.steps),
    damping: m.damping(c.lr, c.momentum, c.curvature),
  }));
  process.stdout.write(JSON.stringify(out));
})();
"""

CASES = [
    dict(lr=0.04, momentum=mu, curvature=1.0, x0=1.0, steps=300) for mu in (0.0, 0.3, 0.64, 0.9, 0.99)
] + [
    dict(lr=1.0, momentum=0.0, curvature=1.0, x0=1.0, steps=50),  # αλ = 1, μ = 0: the critical point
    dict(lr=0.5, momentum=0.2, curvature=3.0, x0=-2.0, steps=200),  # αλ = 1.5: real negative roots
    dict(lr=0.9, momentum=0.1, curvature=4.0, x0=1.0, steps=300),  # αλ = 3.6: diverging
    dict(lr=0.01, momentum=0.5, curvature=0.25, x0=0.5, steps=300),
]


def python_side(case):
    explorer = MomentumExplorer(**case)
    return explorer.trajectory(), explorer.analysis


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_browser_iterates_and_regime_equal_gdlab_within_1e_12():
    result = subprocess.run(
        [NODE, "-e", RUNNER, str(ESM)],
        input=json.dumps({"tables": tables(), "cases": CASES}),
        capture_output=True,
        text=True,
        check=True,
    )
    regimes = set()
    for case, js in zip(CASES, json.loads(result.stdout), strict=True):
        run, info = python_side(case)
        label = json.dumps(case)
        assert js["run"]["status"] == run.status, label
        assert js["run"]["convergedAt"] == run.converged_at and js["run"]["divergedAt"] == run.diverged_at
        np.testing.assert_allclose(np.array(js["run"]["positions"]), run.positions, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.array(js["run"]["losses"]), run.losses, rtol=1e-12, atol=1e-12)
        assert js["damping"]["regime"] == info["regime"], label
        js_roots = [complex(*r) for r in js["damping"]["roots"]]
        np.testing.assert_allclose(js_roots, info["roots"], rtol=1e-12, atol=1e-12, err_msg=label)
        assert js["damping"]["rate"] == pytest.approx(info["rate"], rel=1e-12, abs=1e-12)
        critical = info["critical"]
        assert (js["damping"]["critical"] is None) == (critical is None)
        if critical is not None:
            assert js["damping"]["critical"] == pytest.approx(critical, rel=1e-12, abs=1e-12)
        regimes.add(info["regime"])
    assert regimes == set(DAMPING_REGIMES), "the cases must cover every regime"


def test_node_is_there_in_ci():
    import os

    if os.environ.get("CI"):
        assert NODE is not None


# --- the maths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "momentum,expected",
    [(0.0, "overdamped"), (0.3, "overdamped"), (0.64, "critically damped"), (0.9, "underdamped")],
)
def test_the_four_momenta_of_the_chapter_fall_in_their_regimes(momentum, expected):
    assert damping(lr=0.04, momentum=momentum, curvature=1.0)["regime"] == expected


def test_the_critical_momentum_is_where_the_roots_meet():
    assert critical_momentum(0.04, 1.0) == pytest.approx(0.64, abs=1e-15)
    assert critical_momentum(1.0, 1.0) == 0.0
    assert critical_momentum(1.0, 4.0) is None  # αλ = 4 leaves no critical μ below 1
    info = damping(0.04, 0.64, 1.0)
    for root in info["roots"]:  # a double root, up to the rounding of the discriminant
        assert root == pytest.approx(1 - math.sqrt(0.04), abs=1e-7)


@settings(max_examples=200, deadline=None)
@given(lr=st.floats(1e-3, 1.0), curvature=st.floats(0.25, 4.0), momentum=st.floats(0.0, 0.99))
def test_the_roots_are_those_of_the_iteration_matrix(lr, curvature, momentum):
    info = damping(lr, momentum, curvature)
    matrix = np.array([[1 + momentum - lr * curvature, -momentum], [1.0, 0.0]])
    eigen = np.linalg.eigvals(matrix)
    assert max(abs(eigen)) == pytest.approx(info["rate"], rel=1e-6, abs=1e-6)
    critical = critical_momentum(lr, curvature)
    if info["regime"] == "overdamped":
        assert critical is None or momentum < critical
    if info["regime"] == "underdamped":
        assert momentum > critical and info["rate"] == pytest.approx(math.sqrt(momentum))


@settings(max_examples=100, deadline=None)
@given(lr=st.floats(1e-3, 1.0), curvature=st.floats(0.25, 4.0), momentum=st.floats(0.0, 0.99))
def test_the_iterates_follow_the_recurrence_of_the_roots(lr, curvature, momentum):
    run = MomentumExplorer(momentum=momentum, lr=lr, curvature=curvature, steps=40).trajectory()
    x = run.positions[:, 0]
    a = 1 + momentum - lr * curvature
    np.testing.assert_allclose(x[2:], a * x[1:-1] - momentum * x[:-2], rtol=1e-9, atol=1e-12)


# --- the widget, driven as a reader drives it -----------------------------------------------


def test_setting_momentum_moves_the_explorer_through_the_regimes():
    explorer = MomentumExplorer()
    assert explorer.kind == "momentum" and explorer.regime == "underdamped"
    seen = []
    for momentum in (0.0, 0.3, explorer.critical_momentum, 0.9):
        explorer.momentum = momentum
        seen.append(explorer.regime)
    assert seen == ["overdamped", "overdamped", "critically damped", "underdamped"]
    explorer.lr, explorer.curvature, explorer.momentum = 0.9, 4.0, 0.1
    assert explorer.regime == "diverging" and explorer.trajectory().diverged


def test_only_the_underdamped_run_crosses_the_minimum():
    crossings = {}
    for momentum in (0.3, 0.64, 0.9):
        x = MomentumExplorer(momentum=momentum, steps=300).trajectory().positions[:, 0]
        crossings[momentum] = int(np.sum(np.diff(np.sign(x)) != 0))
    assert crossings[0.3] == crossings[0.64] == 0 < crossings[0.9]


def test_the_full_state_and_the_url_traits_are_sent():
    explorer = MomentumExplorer()
    state = explorer.get_state(drop_defaults=True)
    for name in ("kind", "momentum", "lr", "curvature", "steps", "x0", "url_traits"):
        assert name in state
    assert set(explorer.url_traits) <= set(explorer.trait_names(sync=True))


@pytest.mark.parametrize(
    "trait,value,message",
    [
        ("momentum", -0.1, "Invalid momentum value"),
        ("momentum", 1.0, "below 1"),
        ("curvature", 0.0, "curvature must be positive"),
        ("lr", 0.0, "Invalid learning rate"),
    ],
)
def test_bad_settings_raise_saying_what_and_why(trait, value, message):
    explorer = MomentumExplorer()
    with pytest.raises(Exception, match=message):
        setattr(explorer, trait, value)
