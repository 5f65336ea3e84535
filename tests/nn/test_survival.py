"""Cox partial-likelihood loss against lifelines and direct formulas.

How the references are obtained
-------------------------------
- Efron: lifelines' ``CoxPHFitter`` (unpenalised) maximises Efron's partial
  likelihood.  Its ``log_likelihood_`` is the partial log-likelihood at the
  fitted coefficients ``params_``; the linear predictor at those coefficients is
  ``X @ params_`` (lifelines centres the covariates internally, which shifts
  every linear predictor by the same constant and leaves the partial likelihood
  unchanged).  Our un-normalised sum must equal ``log_likelihood_``; the loss is
  that sum negated and divided by the number of events.
- Breslow: lifelines has no Breslow option for the partial likelihood
  (``baseline_estimation_method="breslow"`` concerns the baseline hazard), so
  the reference is the textbook formula evaluated directly in numpy,
  ``sum_i d_i [eta_i - log sum_{j: t_j >= t_i} exp(eta_j)]``.  Without ties
  Breslow and Efron coincide, so on tie-free data it is also checked against
  lifelines.
"""

import numpy as np
import pandas as pd
import pytest
import torch

from ecgsk.nn.survival import cox_partial_log_likelihood, cox_ph_loss


def _breslow_reference(eta, t, e):
    return sum(eta[i] - np.log(np.exp(eta[t >= t[i]]).sum()) for i in range(len(t)) if e[i])


def _efron_reference(eta, t, e):
    total = 0.0
    for tt in np.unique(t[e]):
        tied = (t == tt) & e
        d = tied.sum()
        s_risk, s_tied = np.exp(eta[t >= tt]).sum(), np.exp(eta[tied]).sum()
        total += eta[tied].sum() - sum(np.log(s_risk - l / d * s_tied) for l in range(d))
    return total


def _data(n=80, ties=True, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 2)
    hazard = np.exp(X @ np.array([0.8, -0.5]))
    t = rng.exponential(5.0 / hazard)
    t = np.round(t) + 1.0 if ties else t
    e = rng.rand(n) < 0.7
    return X, t, e


def _lifelines_fit(X, t, e):
    from lifelines import CoxPHFitter

    df = pd.DataFrame(X, columns=["a", "b"]).assign(T=t, E=e)
    cph = CoxPHFitter().fit(df, "T", "E")
    return cph, X @ cph.params_.to_numpy()


def test_efron_matches_lifelines_with_ties():
    X, t, e = _data(ties=True)
    assert len(np.unique(t[e])) < e.sum()  # there really are tied event times
    cph, eta = _lifelines_fit(X, t, e)
    ll = float(cox_partial_log_likelihood(torch.tensor(eta), t, e, ties="efron"))
    assert ll == pytest.approx(cph.log_likelihood_, abs=1e-6)
    loss = float(cox_ph_loss(torch.tensor(eta), t, e, ties="efron"))
    assert loss == pytest.approx(-cph.log_likelihood_ / e.sum(), abs=1e-6)
    assert ll == pytest.approx(_efron_reference(eta, t, e), abs=1e-8)


def test_breslow_matches_direct_formula_with_ties():
    X, t, e = _data(ties=True, seed=1)
    _, eta = _lifelines_fit(X, t, e)
    ll = float(cox_partial_log_likelihood(torch.tensor(eta), t, e, ties="breslow"))
    assert ll == pytest.approx(_breslow_reference(eta, t, e), abs=1e-8)
    # with ties the two approximations differ
    assert abs(ll - float(cox_partial_log_likelihood(torch.tensor(eta), t, e, ties="efron"))) > 1e-3


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_without_ties_both_match_lifelines(ties):
    X, t, e = _data(ties=False, seed=2)
    cph, eta = _lifelines_fit(X, t, e)
    ll = float(cox_partial_log_likelihood(torch.tensor(eta), t, e, ties=ties))
    assert ll == pytest.approx(cph.log_likelihood_, abs=1e-6)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_no_event_batch_is_zero_with_gradient(ties):
    risk = torch.randn(6, requires_grad=True)
    loss = cox_ph_loss(risk, np.arange(6.0), np.zeros(6), ties=ties)
    assert float(loss.detach()) == 0.0
    loss.backward()
    assert torch.equal(risk.grad, torch.zeros(6))


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_all_tied_times(ties):
    eta = np.array([0.3, -1.0, 2.0, 0.5, 0.0])
    t = np.full(5, 4.0)
    e = np.array([1, 1, 0, 1, 0], dtype=bool)
    ref = _breslow_reference(eta, t, e) if ties == "breslow" else _efron_reference(eta, t, e)
    risk = torch.tensor(eta, requires_grad=True)
    ll = cox_partial_log_likelihood(risk, t, e, ties=ties)
    assert float(ll.detach()) == pytest.approx(ref, abs=1e-10)
    (-ll).backward()
    assert torch.isfinite(risk.grad).all()


def test_permutation_invariance_and_float32_gradients():
    X, t, e = _data(n=40, seed=3)
    eta = torch.tensor(X[:, 0], dtype=torch.float32, requires_grad=True)
    perm = np.random.RandomState(0).permutation(40)
    for ties in ("breslow", "efron"):
        a = cox_ph_loss(eta, t, e, ties=ties)
        b = cox_ph_loss(eta[perm], t[perm], e[perm], ties=ties)
        assert float(a.detach()) == pytest.approx(float(b.detach()), rel=1e-5)
        a.backward()
        assert torch.isfinite(eta.grad).all() and eta.grad.abs().sum() > 0
        eta.grad = None


def test_large_predictors_are_stable():
    eta = torch.tensor([800.0, 0.0, -800.0, 400.0], dtype=torch.float64)
    for ties in ("breslow", "efron"):
        assert torch.isfinite(cox_ph_loss(eta, [1.0, 1.0, 2.0, 3.0], [1, 1, 1, 0], ties=ties))


def test_input_errors():
    with pytest.raises(ValueError, match="ties"):
        cox_ph_loss(torch.zeros(3), [1, 2, 3], [1, 1, 1], ties="exact")
    with pytest.raises(ValueError, match="same length"):
        cox_ph_loss(torch.zeros(3), [1, 2], [1, 1])


def test_fit_linear_cox_matches_scikit_survival_ridge():
    # sksurv's CoxPHSurvivalAnalysis(alpha) maximises ll - alpha/2 |w|^2 (Breslow ties); ours minimises
    # -ll / n_events + penalty |w|^2, the same optimum when alpha = 2 * penalty * n_events
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    from ecgsk.nn.survival import fit_linear_cox

    rng = np.random.RandomState(0)
    X = rng.randn(80, 3)
    t = rng.exponential(np.exp(-(X @ np.array([0.8, -0.5, 0.0]))))
    e = rng.rand(80) < 0.7
    penalty = 0.05
    w = fit_linear_cox(torch.tensor(X), torch.tensor(t), torch.tensor(e, dtype=torch.float64), penalty).numpy()
    y = np.array(list(zip(e, t)), dtype=[("event", bool), ("time", float)])
    ref = CoxPHSurvivalAnalysis(alpha=2 * penalty * e.sum(), ties="breslow").fit(X, y).coef_
    np.testing.assert_allclose(w, ref, atol=1e-4)
    # no event: zeros, not NaN
    none = fit_linear_cox(torch.tensor(X), torch.tensor(t), torch.zeros(80), penalty)
    assert torch.equal(none, torch.zeros(3, dtype=torch.float64))


def test_select_cox_penalty_follows_the_signal():
    from ecgsk.nn.survival import select_cox_penalty

    rng = np.random.RandomState(1)
    X = torch.tensor(rng.randn(150, 5))
    event = torch.ones(150)
    penalties = [1e-3, 1e-2, 1e-1, 1.0, 10.0]
    # a strong signal in every feature: little shrinkage is best
    strong = torch.exp(-(X @ torch.full((5,), 1.5, dtype=torch.float64)) + 0.1 * torch.tensor(rng.randn(150)))
    best_strong, scores = select_cox_penalty(X, strong, event, penalties, seed=0)
    # pure noise: the largest penalty (the null model) is best
    noise = torch.tensor(rng.exponential(size=150))
    best_noise, _ = select_cox_penalty(X, noise, event, penalties, seed=0)
    assert len(scores) == len(penalties) and all(np.isfinite(scores))
    assert best_strong < best_noise
    assert best_noise == 10.0
    # penalised= leaves the unpenalised coefficients (1e-4) alone: the score of a huge penalty on a feature
    # that carries no signal matches the unpenalised one's closely
    mask = torch.tensor([False, True, True, True, True])
    signal_in_first = torch.exp(-2.0 * X[:, 0])
    best_masked, _ = select_cox_penalty(X, signal_in_first, event, penalties, penalised=mask, seed=0)
    assert best_masked == 10.0
