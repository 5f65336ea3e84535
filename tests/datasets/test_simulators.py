"""ecgsk.datasets.simulators: simulate_survival."""

import numpy as np
import pandas as pd
import pytest

from ecgsk.datasets import make_synthetic_ecgs, simulate_survival
from ecgsk.metrics import concordance_index


# ---------------------------------------------------------------------------
# simulate_survival
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("baseline", ["exponential", "weibull"])
@pytest.mark.parametrize("censoring", [0.0, 0.3, 0.6])
def test_simulate_survival_follows_the_cox_model(baseline, censoring):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(2000, 4))
    coef = np.array([1.0, -0.8, 0.5, 0.0])
    y = simulate_survival(X, coef, baseline=baseline, censoring=censoring, random_state=1)
    assert y.dtype.names == ("event", "time")
    assert y["event"].dtype == bool and y["time"].dtype == np.float64
    assert (y["time"] > 0).all() and np.isfinite(y["time"]).all()
    assert abs((1 - y["event"].mean()) - censoring) < 0.04
    eta = X @ coef
    assert concordance_index(y, eta) > 0.7
    assert concordance_index(y, -eta) < 0.3


def test_simulate_survival_rate_reproducibility_and_features():
    X = make_synthetic_ecgs(40, n_leads=1, n_samples=500, random_state=0)[:, 0, :5]
    y1 = simulate_survival(X, np.ones(5), censoring_rate=0.05, random_state=3)
    y2 = simulate_survival(X, np.ones(5), censoring_rate=0.05, random_state=3)
    np.testing.assert_array_equal(y1, y2)
    y0 = simulate_survival(X, np.ones(5), censoring_rate=0.0, random_state=3)
    assert y0["event"].all()
    frame = pd.DataFrame(X)
    np.testing.assert_array_equal(
        simulate_survival(frame, np.ones(5), random_state=3), simulate_survival(X, np.ones(5), random_state=3)
    )
    # A higher censoring rate censors more.
    rng = np.random.RandomState(0)
    Z = rng.normal(size=(3000, 1))
    low = simulate_survival(Z, [1.0], censoring_rate=0.01, random_state=0)
    high = simulate_survival(Z, [1.0], censoring_rate=1.0, random_state=0)
    assert (~high["event"]).mean() > (~low["event"]).mean()


def test_simulate_survival_validates():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="coef"):
        simulate_survival(X, [1.0])
    with pytest.raises(ValueError, match="baseline"):
        simulate_survival(X, [1.0, 1.0], baseline="gompertz")
    with pytest.raises(ValueError, match="censoring"):
        simulate_survival(X, [1.0, 1.0], censoring=1.0)
    with pytest.raises(ValueError, match="censoring_rate"):
        simulate_survival(X, [1.0, 1.0], censoring_rate=-1.0)
