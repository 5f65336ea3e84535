"""Lead derivation (8 -> 12) and selection by name (no torch)."""

import numpy as np

from ..base import BaseECGTransformer, InvertibleTransformerMixin
from ..leads import LEADS_8, LEADS_12, canonical_lead_name, derive_12_from_8, lead_indices, select_8_from_12
from ..utils.constraints import Satisfies

__all__ = ["LeadDeriver", "LeadSelector"]


def _is_names(value):
    """Whether ``value`` is a sequence (not a single string) of strings."""
    return (not isinstance(value, str) and hasattr(value, "__len__") and hasattr(value, "__iter__")
            and all(isinstance(name, str) for name in value))


class LeadDeriver(InvertibleTransformerMixin, BaseECGTransformer):
    """Derive the 12 standard leads from the 8 independent ones.

    Input leads are :data:`~ecgsk.leads.LEADS_8` (I, II, V1-V6); output leads
    are :data:`~ecgsk.leads.LEADS_12`, with III, aVR, aVL and aVF from
    Einthoven's and Goldberger's relations.  ``inverse_transform`` keeps the 8
    independent leads of a 12-lead batch, so an 8-lead generator (Pulse2Pulse)
    can sit before or after it in a pipeline.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X8 = make_synthetic_ecgs(2, n_leads=8, random_state=0)
    >>> ld = LeadDeriver().fit(X8)
    >>> ld.transform(X8).shape
    (2, 12, 5000)
    >>> ld.inverse_transform(ld.transform(X8)).shape
    (2, 8, 5000)
    """

    tags = {"n_leads": 8}

    def __init__(self):
        pass

    def _transform(self, X):
        return np.ascontiguousarray(derive_12_from_8(X), dtype=np.float32)

    def _n_leads_inverse(self):
        return 12

    def _inverse_transform(self, X):
        return np.ascontiguousarray(select_8_from_12(X), dtype=np.float32)

    @classmethod
    def get_test_params(cls):
        return [{}]


class LeadSelector(BaseECGTransformer):
    """Keep leads by name (case-insensitive), in the order given.

    Parameters
    ----------
    leads : str or sequence of str, default=("I",)
        Names of the leads to keep, such as ``("I",)`` or ``("ii", "V5")``.
    input_leads : sequence of str, default=LEADS_12
        Names of the input leads, in order; the input must have this many.

    Attributes
    ----------
    indices_ : ndarray of int
        Positions of the kept leads in the input.
    leads_out_ : tuple of str
        Canonical names of the output leads.

    Raises
    ------
    ValueError
        In ``fit``, if a name is not among ``input_leads`` (the message lists
        the valid names).

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(2, n_leads=12, random_state=0)
    >>> LeadSelector(("i", "V5")).fit_transform(X).shape
    (2, 2, 5000)
    """

    parameter_constraints = {
        "leads": [str, Satisfies(lambda value, params: _is_names(value) and len(value) > 0,
                                 "a non-empty sequence of lead names")],
        "input_leads": [Satisfies(lambda value, params: _is_names(value), "a sequence of lead names")],
    }

    tags = {"lazy_input": True}  # row-wise: a memmap or ECGDataset is transformed a chunk at a time

    def __init__(self, leads=("I",), input_leads=LEADS_12):
        self.leads = leads
        self.input_leads = input_leads

    def _expected_fit_leads(self):
        return len(self.input_leads)

    def _fit(self, X):
        leads = [self.leads] if isinstance(self.leads, str) else list(self.leads)
        try:
            idx = lead_indices(leads, self.input_leads)
        except ValueError as exc:
            raise ValueError(f"LeadSelector: {exc}") from None
        self.indices_ = np.asarray(idx, dtype=np.intp)
        self.leads_out_ = tuple(canonical_lead_name(n) for n in leads)
        return self

    def _transform(self, X):
        return np.ascontiguousarray(X[:, self.indices_, :])

    @classmethod
    def get_test_params(cls):
        return [{}, {"leads": ("ii", "V5", "avr")}, {"leads": ("I", "II"), "input_leads": LEADS_8}]
