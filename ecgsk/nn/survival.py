"""Cox proportional-hazards losses for training risk heads in mini-batches.

The partial likelihood of a batch is computed on the batch alone: the risk set
of an event is the members of the same batch still at risk at its time (the
DeepSurv convention).  Risk sets are found by sorting the batch by time, and
their log-sums with a stable log-cumsum-exp, so the cost is ``O(n log n)``.

Tied event times are handled by Breslow's approximation (the default) or by
Efron's (the one lifelines' :class:`~lifelines.CoxPHFitter` uses).
"""

import torch

__all__ = ["cox_partial_log_likelihood", "cox_ph_loss", "fit_linear_cox", "select_cox_penalty"]

_TIES = ("breslow", "efron")


def _as_1d(value, name, device, dtype):
    tensor = torch.as_tensor(value, device=device)
    if tensor.ndim == 2 and tensor.shape[1] == 1:
        tensor = tensor[:, 0]
    if tensor.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n,); got shape {tuple(tensor.shape)}")
    return tensor.to(dtype)


def cox_partial_log_likelihood(risk, time, event, *, ties="breslow"):
    """Cox partial log-likelihood of linear predictors ``risk`` (a sum over events).

    Parameters
    ----------
    risk : Tensor of shape (n,) or (n, 1)
        Linear predictors (log relative hazards); higher means an earlier event.
    time : Tensor or array-like of shape (n,)
        Observed times (event or censoring).
    event : Tensor or array-like of shape (n,)
        1/True where the event was observed, 0/False where censored.
    ties : {"breslow", "efron"}, default="breslow"
        Approximation for tied event times.

    Returns
    -------
    Tensor of shape ()
        ``sum_events [eta_i - log sum_{j: t_j >= t_i} exp(eta_j)]`` (Breslow), or
        Efron's correction of it; ``0`` when there is no event.  Differentiable
        with respect to ``risk``.

    Notes
    -----
    With time sorted in decreasing order, the risk set of a subject is a prefix
    of the batch, extended to the end of its group of tied times;
    ``torch.logcumsumexp`` gives all the log-sums at once.  Efron's term for
    the ``l``-th of ``d`` tied events at a time is
    ``log(S_R - l/d * S_D) = log S_R + log1p(-l/d * exp(log S_D - log S_R))``,
    which stays finite because ``S_D <= S_R`` and ``l/d < 1``.

    Examples
    --------
    >>> import torch
    >>> ll = cox_partial_log_likelihood(torch.zeros(3), [1.0, 2.0, 3.0], [1, 1, 1])
    >>> round(float(ll), 4)  # -(log 3 + log 2 + log 1)
    -1.7918
    """
    if ties not in _TIES:
        raise ValueError(f"ties must be 'breslow' or 'efron'; got {ties!r}")
    if not (isinstance(risk, torch.Tensor) and risk.is_floating_point()):
        risk = torch.as_tensor(risk, dtype=torch.float64)
    risk = _as_1d(risk, "risk", risk.device, risk.dtype)
    time = _as_1d(time, "time", risk.device, torch.float64)
    event = _as_1d(event, "event", risk.device, risk.dtype)
    if not (len(risk) == len(time) == len(event)):
        raise ValueError(f"risk, time and event must have the same length; got {len(risk)}, {len(time)}, {len(event)}")
    if len(risk) == 0 or float(event.sum()) == 0:
        return risk.sum() * 0.0  # zero that keeps the graph: a batch without events teaches nothing

    # Decreasing time: the risk set of row k is rows 0..end of k's tie group.
    order = torch.argsort(time, descending=True, stable=True)
    eta, t, e = risk[order], time[order], event[order]
    _, group, counts = torch.unique_consecutive(t, return_inverse=True, return_counts=True)
    group_end = torch.cumsum(counts, 0) - 1
    log_risk_set = torch.logcumsumexp(eta, 0)[group_end]  # (n_groups,) log S_R per distinct time

    if ties == "breslow":
        return torch.sum(e * (eta - log_risk_set[group]))

    # Efron: the events of a tie group leave the risk set gradually.
    n_groups = len(counts)
    d = torch.zeros(n_groups, dtype=eta.dtype, device=eta.device).index_add_(0, group, e)
    neg_inf = torch.tensor(float("-inf"), dtype=eta.dtype, device=eta.device)
    eta_events = torch.where(e > 0, eta, neg_inf)
    m = torch.full((n_groups,), float("-inf"), dtype=eta.dtype, device=eta.device)
    m = m.scatter_reduce(0, group, eta_events, reduce="amax", include_self=True)
    m_safe = torch.where(torch.isfinite(m), m, torch.zeros_like(m)).detach()
    s = torch.zeros(n_groups, dtype=eta.dtype, device=eta.device).index_add_(
        0, group, e * torch.exp(eta - m_safe[group])
    )
    has_events = d > 0
    log_s_events = torch.where(has_events, torch.log(torch.where(has_events, s, torch.ones_like(s))) + m_safe, neg_inf)
    # rank l (0-based) of each event among the events of its group
    cum = torch.cumsum(e, 0)
    start = torch.cumsum(counts, 0) - counts
    cum_before_group = torch.where(start > 0, cum[(start - 1).clamp(min=0)], torch.zeros_like(d))
    rank = cum - cum_before_group[group] - 1.0
    frac = torch.where(e > 0, rank / torch.where(has_events, d, torch.ones_like(d))[group], torch.zeros_like(eta))
    ratio = torch.exp(torch.where(has_events, log_s_events - log_risk_set, torch.zeros_like(d)))[group]
    term = eta - log_risk_set[group] - torch.log1p(-frac * ratio)
    return torch.sum(torch.where(e > 0, term, torch.zeros_like(term)))


def cox_ph_loss(risk, time, event, *, ties="breslow"):
    """Negative Cox partial log-likelihood of a batch, divided by its number of events.

    Parameters
    ----------
    risk : Tensor of shape (n,) or (n, 1)
        Linear predictors; higher means an earlier event.
    time, event : Tensor or array-like of shape (n,)
        Observed times and event indicators (0/1 or bool).
    ties : {"breslow", "efron"}, default="breslow"
        Approximation for tied event times.

    Returns
    -------
    Tensor of shape ()
        ``-cox_partial_log_likelihood(...) / n_events``; exactly ``0`` (not
        NaN) for a batch without events, still attached to the graph.

    Examples
    --------
    >>> import torch
    >>> risk = torch.tensor([2.0, 1.0, 0.0], requires_grad=True)
    >>> loss = cox_ph_loss(risk, [1.0, 2.0, 3.0], [1, 1, 0])
    >>> loss.backward()
    >>> bool(torch.isfinite(loss)) and risk.grad is not None
    True
    """
    ll = cox_partial_log_likelihood(risk, time, event, ties=ties)
    event_t = torch.as_tensor(event)
    n_events = float(event_t.to(torch.float64).sum())
    if n_events == 0:
        return ll  # already a graph-attached zero
    return -ll / n_events


def fit_linear_cox(features, time, event, penalty, *, ties="breslow"):
    """Ridge-penalised linear Cox model, fitted by full-batch L-BFGS.

    Minimises ``cox_ph_loss(features @ w, time, event) + sum(penalty * w**2)``
    in float64 (the loss is per event, so ``penalty`` does not grow with the
    number of subjects).

    Parameters
    ----------
    features : Tensor of shape (n, p)
    time, event : Tensor of shape (n,)
    penalty : float or Tensor of shape (p,)
        Ridge penalty per coefficient (a small one keeps separable data finite).
    ties : {"breslow", "efron"}, default="breslow"

    Returns
    -------
    Tensor of float64, shape (p,)
        The coefficients; zeros when there is no event.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[2.0], [1.0], [0.0], [-1.0]])
    >>> w = fit_linear_cox(x, torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.ones(4), 0.1)
    >>> bool(w[0] > 0)  # higher x, earlier event
    True
    """
    features = torch.as_tensor(features).double()
    time = _as_1d(time, "time", features.device, torch.float64)
    event = _as_1d(event, "event", features.device, torch.float64)
    penalty = torch.as_tensor(penalty, dtype=torch.float64, device=features.device)
    w = torch.zeros(features.shape[1], dtype=torch.float64, device=features.device, requires_grad=True)
    if float(event.sum()) == 0:
        return w.detach()
    opt = torch.optim.LBFGS([w], lr=1.0, max_iter=100, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = cox_ph_loss(features @ w, time, event, ties=ties) + (penalty * w**2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return w.detach()


def select_cox_penalty(features, time, event, penalties, *, penalised=None, n_splits=5, seed=0,
                       ties="breslow"):
    """The ridge penalty of :func:`fit_linear_cox` with the best cross-validated partial likelihood.

    Each candidate is scored by the cross-validated partial log-likelihood of
    Verweij and van Houwelingen (1993): summed over folds, the full-data
    partial log-likelihood at the fold's fitted coefficients minus the
    partial log-likelihood of the fold's training rows, which uses every
    risk set even for small folds.

    Parameters
    ----------
    features : Tensor of shape (n, p)
    time, event : Tensor of shape (n,)
    penalties : sequence of float
        Candidate penalties for the penalised coefficients.
    penalised : Tensor of bool, shape (p,), optional
        Which coefficients take the candidate penalty; the others take 1e-4.
        Default: all.
    n_splits : int, default=5
    seed : int, default=0
        Seeds the folds.
    ties : {"breslow", "efron"}, default="breslow"

    Returns
    -------
    best : float
        The chosen penalty.
    scores : list of float
        The cross-validated partial log-likelihood of each candidate (higher
        is better).

    Examples
    --------
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(60, 3, generator=g)
    >>> t = torch.exp(-x[:, 0] + 0.5 * torch.randn(60, generator=g))
    >>> best, scores = select_cox_penalty(x, t, torch.ones(60), [0.01, 1.0, 100.0])
    >>> best in (0.01, 1.0, 100.0) and len(scores) == 3
    True
    """
    features = torch.as_tensor(features).double()
    time = _as_1d(time, "time", features.device, torch.float64)
    event = _as_1d(event, "event", features.device, torch.float64)
    n, p = features.shape
    mask = torch.ones(p, dtype=torch.bool) if penalised is None else torch.as_tensor(penalised, dtype=torch.bool)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))
    folds = [order[i::n_splits] for i in range(min(n_splits, n))]
    scores = []
    for value in penalties:
        penalty = torch.where(mask, torch.tensor(float(value), dtype=torch.float64), torch.tensor(1e-4,
                                                                                               dtype=torch.float64))
        total = 0.0
        for fold in folds:
            train = torch.ones(n, dtype=torch.bool)
            train[fold] = False
            w = fit_linear_cox(features[train], time[train], event[train], penalty, ties=ties)
            full = cox_partial_log_likelihood(features @ w, time, event, ties=ties)
            part = cox_partial_log_likelihood(features[train] @ w, time[train], event[train], ties=ties)
            total += float(full - part)
        scores.append(total)
    best = max(range(len(scores)), key=lambda i: scores[i])
    return float(penalties[best]), scores
