"""gdlab.schedules equals torch.optim.lr_scheduler, rate for rate (within 1e-9).

torch's rates are read from ``optimizer.param_groups[0]["lr"]``: once after building the
scheduler (t = 0) and after each ``scheduler.step()``. A dummy optimizer steps first each
time (as in a real loop), which also keeps torch from warning about the call order.
"""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim import lr_scheduler

from gdlab import schedules


def torch_rates(make_scheduler, lr, steps):
    """The first ``steps + 1`` rates torch's scheduler sets, for t = 0 .. steps."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = make_scheduler(optimizer)
    rates = [optimizer.param_groups[0]["lr"]]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    return rates


def assert_same_rates(ours, theirs):
    assert len(ours) == len(theirs)
    for t, (mine, reference) in enumerate(zip(ours, theirs)):
        assert abs(mine - reference) <= 1e-9, f"t = {t}: ours {mine!r}, torch {reference!r}"


@pytest.mark.parametrize(
    "lr,step_size,gamma", [(0.1, 30, 0.1), (0.5, 7, 0.5), (1.0, 1, 0.9), (0.05, 10, 2.0)]
)
def test_step_matches_torch_steplr(lr, step_size, gamma):
    ours = schedules.step(lr, step_size, gamma)
    theirs = torch_rates(lambda o: lr_scheduler.StepLR(o, step_size=step_size, gamma=gamma), lr, 200)
    assert_same_rates([ours(t) for t in range(201)], theirs)


def test_step_uses_torchs_default_gamma():
    assert schedules.step(1.0, step_size=5)(5) == pytest.approx(0.1, abs=1e-15)


@pytest.mark.parametrize("lr,gamma", [(0.1, 0.95), (1.0, 0.5), (0.01, 0.999), (0.3, 1.0)])
def test_exponential_matches_torch_exponentiallr(lr, gamma):
    ours = schedules.exponential(lr, gamma)
    theirs = torch_rates(lambda o: lr_scheduler.ExponentialLR(o, gamma=gamma), lr, 200)
    assert_same_rates([ours(t) for t in range(201)], theirs)


@pytest.mark.parametrize("lr,T_max,eta_min", [(0.1, 50, 0.0), (1.0, 7, 0.1), (0.05, 1, 0.0), (0.3, 20, 0.3)])
def test_cosine_matches_torch_cosineannealinglr_over_and_beyond_t_max(lr, T_max, eta_min):
    # torch updates recursively, each rate from the previous one; the closed form gives the
    # same numbers, also past T_max, where both climb back up (period 2 T_max). Compare over
    # four full periods.
    steps = 8 * T_max + 5
    ours = schedules.cosine(lr, T_max, eta_min)
    theirs = torch_rates(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=T_max, eta_min=eta_min), lr, steps)
    assert_same_rates([ours(t) for t in range(steps + 1)], theirs)


def test_cosine_reaches_eta_min_at_t_max_and_climbs_back_afterwards():
    s = schedules.cosine(1.0, T_max=10, eta_min=0.1)
    assert s(10) == pytest.approx(0.1, abs=1e-15)
    assert s(11) > s(10) and s(20) == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize(
    "lr,T_0,T_mult,eta_min", [(0.1, 10, 1, 0.0), (1.0, 4, 2, 0.0), (0.5, 3, 3, 0.05), (0.2, 1, 2, 0.0)]
)
def test_cosine_warm_restarts_matches_torch(lr, T_0, T_mult, eta_min):
    ours = schedules.cosine_warm_restarts(lr, T_0, T_mult, eta_min)
    theirs = torch_rates(
        lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=T_0, T_mult=T_mult, eta_min=eta_min),
        lr,
        300,
    )
    assert_same_rates([ours(t) for t in range(301)], theirs)


def test_warm_restarts_restart_at_the_end_of_each_cycle():
    s = schedules.cosine_warm_restarts(1.0, T_0=5, T_mult=2)
    restarts = [t for t in range(1, 80) if s(t) == 1.0]
    assert restarts == [5, 15, 35, 75]  # cycles of 5, 10, 20, 40 steps


def torch_warmup_cosine(optimizer, warmup_steps, total_steps, eta_min):
    # The warm-up of gdlab.schedules.warmup_cosine is lr (t + 1) / (W + 1): LinearLR with
    # start_factor 1 / (W + 1) reaches factor 1 after W steps, where the cosine takes over.
    warmup = lr_scheduler.LinearLR(optimizer, start_factor=1 / (warmup_steps + 1), total_iters=warmup_steps)
    decay = lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps - warmup_steps, eta_min=eta_min)
    return lr_scheduler.SequentialLR(optimizer, [warmup, decay], milestones=[warmup_steps])


@pytest.mark.parametrize(
    "lr,warmup_steps,total_steps,eta_min", [(0.1, 10, 100, 0.0), (1.0, 3, 7, 0.0), (0.5, 25, 60, 0.01)]
)
def test_warmup_cosine_matches_torch_linearlr_then_cosineannealinglr(lr, warmup_steps, total_steps, eta_min):
    ours = schedules.warmup_cosine(lr, warmup_steps, total_steps, eta_min)
    theirs = torch_rates(
        lambda o: torch_warmup_cosine(o, warmup_steps, total_steps, eta_min), lr, total_steps
    )
    assert_same_rates([ours(t) for t in range(total_steps + 1)], theirs)


def test_warmup_cosine_holds_eta_min_after_total_steps_where_torch_climbs_again():
    lr, warmup_steps, total_steps, eta_min = 0.1, 10, 100, 0.001
    ours = schedules.warmup_cosine(lr, warmup_steps, total_steps, eta_min)
    theirs = torch_rates(lambda o: torch_warmup_cosine(o, warmup_steps, total_steps, eta_min), lr, 150)
    assert all(ours(t) == eta_min for t in range(total_steps, 151))
    assert all(theirs[t] > eta_min + 1e-9 for t in range(total_steps + 1, 151))


def test_warmup_cosine_without_warmup_is_cosine():
    ours, plain = schedules.warmup_cosine(0.1, 0, 50), schedules.cosine(0.1, 50)
    assert all(ours(t) == plain(t) for t in range(51))


def test_warmup_rises_linearly_to_the_peak():
    s = schedules.warmup_cosine(1.0, warmup_steps=4, total_steps=20)
    assert [s(t) for t in range(5)] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0], abs=1e-15)
    assert max(s(t) for t in range(30)) == s(4) == 1.0


@pytest.mark.parametrize(
    "max_lr,total_steps,pct_start,div_factor,final_div_factor",
    [
        (0.1, 100, 0.3, 25.0, 1e4),
        (1.0, 1000, 0.25, 10.0, 100.0),
        (0.01, 37, 0.5, 25.0, 1e4),
        (0.5, 10, 0.15, 5.0, 1e3),
    ],
)
def test_one_cycle_matches_torch_onecyclelr(max_lr, total_steps, pct_start, div_factor, final_div_factor):
    ours = schedules.one_cycle(max_lr, total_steps, pct_start, div_factor, final_div_factor)
    theirs = torch_rates(
        lambda o: lr_scheduler.OneCycleLR(
            o,
            max_lr=max_lr,
            total_steps=total_steps,
            pct_start=pct_start,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
        ),
        0.123,  # OneCycleLR overwrites the optimizer's own rate
        total_steps,
    )
    assert_same_rates([ours(t) for t in range(total_steps + 1)], theirs)


def test_one_cycle_uses_torchs_defaults_and_refuses_steps_past_the_end():
    s = schedules.one_cycle(max_lr=1.0, total_steps=100)
    assert s(0) == pytest.approx(1.0 / 25)
    assert max(s(t) for t in range(101)) == pytest.approx(1.0)
    assert s(99) == pytest.approx(1.0 / 25 / 1e4)
    with pytest.raises(ValueError, match="Tried to step 101 times"):
        s(101)


@settings(max_examples=60, deadline=None)
@given(
    lr=st.floats(1e-6, 10.0),
    T_0=st.integers(1, 20),
    T_mult=st.integers(1, 3),
    t=st.integers(0, 5000),
)
def test_warm_restarts_stay_between_eta_min_and_lr(lr, T_0, T_mult, t):
    eta_min = lr / 10
    rate = schedules.cosine_warm_restarts(lr, T_0, T_mult, eta_min)(t)
    assert eta_min - 1e-12 <= rate <= lr + 1e-12


@settings(max_examples=60, deadline=None)
@given(lr=st.floats(1e-6, 10.0), warmup=st.integers(0, 50), extra=st.integers(1, 200), t=st.integers(0, 400))
def test_warmup_cosine_never_exceeds_its_peak_and_never_reaches_zero_while_warming(lr, warmup, extra, t):
    s = schedules.warmup_cosine(lr, warmup, warmup + extra)
    assert 0 <= s(t) <= lr * (1 + 1e-12)
    if t < warmup:
        assert s(t) > 0 and s(t) < s(t + 1)


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: schedules.step(0.0, 10), "Invalid learning rate: 0.0"),
        (lambda: schedules.step(-0.1, 10), "Invalid learning rate: -0.1"),
        (lambda: schedules.step(math.nan, 10), "Invalid learning rate: nan"),
        (lambda: schedules.step(0.1, 0), "step_size must be a positive integer"),
        (lambda: schedules.step(0.1, 2.5), "step_size must be a positive integer"),
        (lambda: schedules.step(0.1, 10, gamma=0.0), "gamma must be a positive number"),
        (lambda: schedules.exponential(0.1, -0.5), "gamma must be a positive number"),
        (lambda: schedules.exponential(math.inf, 0.5), "Invalid learning rate: inf"),
        (lambda: schedules.cosine(0.1, 0), "T_max must be a positive integer"),
        (lambda: schedules.cosine(0.1, 10, eta_min=0.2), "eta_min must lie between 0 and"),
        (lambda: schedules.cosine(0.1, 10, eta_min=-0.01), "eta_min must lie between 0 and"),
        (lambda: schedules.cosine(0.1, 10, eta_min="0"), "Expected float or int eta_min"),
        (lambda: schedules.cosine_warm_restarts(0.1, 0), "Expected positive integer T_0, but got 0"),
        (
            lambda: schedules.cosine_warm_restarts(0.1, 10, T_mult=0),
            "Expected integer T_mult >= 1, but got 0",
        ),
        (lambda: schedules.cosine_warm_restarts(0.1, 10, T_mult=1.5), "Expected integer T_mult >= 1"),
        (lambda: schedules.warmup_cosine(0.1, -1, 10), "warmup_steps must be a non-negative integer"),
        (lambda: schedules.warmup_cosine(0.1, 10, 10), "must be smaller than total_steps"),
        (lambda: schedules.one_cycle(0.0, 100), "Invalid max_lr: 0.0"),
        (lambda: schedules.one_cycle(0.1, 0), "Expected positive integer total_steps, but got 0"),
        (lambda: schedules.one_cycle(0.1, 100, pct_start=1.5), "Expected float between 0 and 1 pct_start"),
        (lambda: schedules.one_cycle(0.1, 10, pct_start=0.1), "warm-up phase lasts at least one step"),
        (lambda: schedules.one_cycle(0.1, 100, div_factor=0), "div_factor must be a positive number"),
        (lambda: schedules.one_cycle(0.1, 100, final_div_factor=-1), "final_div_factor must be a positive"),
    ],
)
def test_bad_arguments_raise_and_say_what_is_wrong(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        make()


@pytest.mark.parametrize("t", [-1, 2.5, "3", True, None])
def test_a_schedule_refuses_a_step_count_that_is_not_a_non_negative_integer(t):
    with pytest.raises(ValueError, match="function of the step count"):
        schedules.cosine(0.1, 10)(t)


def test_torch_refuses_what_we_refuse_with_the_same_words():
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    for make_ours, make_theirs in [
        (
            lambda: schedules.cosine_warm_restarts(0.1, 0),
            lambda: lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=0),
        ),
        (
            lambda: schedules.cosine_warm_restarts(0.1, 5, T_mult=0),
            lambda: lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=5, T_mult=0),
        ),
        (
            lambda: schedules.one_cycle(0.1, 0),
            lambda: lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=0),
        ),
        (
            lambda: schedules.one_cycle(0.1, 100, pct_start=1.5),
            lambda: lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=100, pct_start=1.5),
        ),
    ]:
        with pytest.raises(ValueError) as ours:
            make_ours()
        with pytest.raises(ValueError) as theirs:
            make_theirs()
        assert str(ours.value) == str(theirs.value)
