"""An optimizer's state is an explicit value: one made by another configuration is refused by name."""

import numpy as np
import pytest

from gdlab import optim


@pytest.mark.parametrize(
    "settings,buffer",
    [(dict(centered=True), "grad_avg"), (dict(momentum=0.9), "momentum_buffer")],
)
def test_rmsprop_refuses_a_state_without_the_buffer_its_settings_need(settings, buffer):
    w = np.zeros(2)
    plain_state = optim.rmsprop().init(w)  # no momentum buffer, no gradient average
    with pytest.raises(ValueError, match=rf"state\.{buffer} is None"):
        optim.rmsprop(**settings).step(w, np.ones(2), plain_state)


def test_rmsprop_with_its_own_state_still_steps():
    w = np.zeros(2)
    opt = optim.rmsprop(lr=0.1, momentum=0.9, centered=True)
    new_w, state = opt.step(w, np.ones(2), opt.init(w))
    assert state.step == 1 and np.all(new_w < 0)
