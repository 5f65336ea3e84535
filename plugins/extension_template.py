"""Extension template: copy this file to start a new ecgsk model.

It is the sktime-style "fill in the hooks" template for ecgsk (see
``docs/plugins.md`` for the whole walk-through and
``plugins/ecgsk-example-plugin`` for a complete package built from it).

How to use it
-------------
1. Copy this file into your package, e.g. ``my_ecg_models/my_generator.py``.
2. Rename ``MyGenerator`` and replace every ``TODO`` with your model.
3. Register it in your ``pyproject.toml``::

       [project.entry-points."ecgsk.models"]
       my_generator = "my_ecg_models.my_generator:MyGenerator"

4. Check it with the same checks the built-in models pass: one pytest test
   per check, in your test suite (e.g. ``tests/test_my_generator.py``)::

       from ecgsk.testing import parametrize_with_checks
       from my_ecg_models.my_generator import MyGenerator

       @parametrize_with_checks([MyGenerator])   # every parameter set of get_test_params()
       def test_ecgsk_compatible(estimator, check):
           check(estimator)

   or all at once, as a table: ``print(check_estimator(MyGenerator,
   raise_exceptions=False))`` (with the default ``raise_exceptions=True`` an
   ``AssertionError`` names every failed check); or run this file:
   ``python plugins/extension_template.py``.

The division of labour
----------------------
The public methods (``fit``, ``sample``, ``transform``, ``predict_risk``,
``score``) live in ecgsk's mixins (:mod:`ecgsk.base`).  They validate the
input against the data contract -- float32 ``(n_ecgs, n_leads, n_samples)`` in
mV, no NaN, the right number of leads, ``NotFittedError`` before ``fit`` --
check the constructor parameters against the ``parameter_constraints`` you
declare, set ``n_features_in_`` (the number of leads), seed the random streams
from ``random_state``, and then call the hooks you write.  The hooks
(``_fit``, ``_sample``, ``_transform``, ``_predict_risk``, and
``_inverse_transform`` for invertible transformers) carry an underscore
because they are the template methods behind the public API, not methods a
user calls; they are the part of ecgsk's protocol that you implement.
Everything else is declared with two public class attributes:

- ``tags``: a dict over the vocabulary :data:`ecgsk.base.ESTIMATOR_TAGS`
  (``kind``, ``conditional``, ``requires_conditions``, ``n_leads``,
  ``min_samples``, ``min_fit_ecgs``, ``fixed_length_param``,
  ``non_deterministic``, ``python_dependencies``, ``requires_fit``).  An
  unknown name is a ``TypeError`` when the class is defined.  Read the merged
  tags back with ``MyGenerator.get_tags()`` or :func:`ecgsk.base.get_tags`.
- ``parameter_constraints``: parameter name -> list of accepted forms
  (:class:`~ecgsk.base.Interval`, :class:`~ecgsk.base.Options`,
  :class:`~ecgsk.base.Satisfies`, ``None``, a type such as ``bool``, or
  ``"random_state"``), checked at the start of every ``fit``; a bad value is
  a ``ValueError`` naming the parameter.

Your file holds your model, its hooks and these declarations, and **no
validation code**.  (For arguments of methods of your own, not constructor
parameters, use :func:`ecgsk.base.check_int_param` and
:func:`ecgsk.base.check_float_param`.)

=================  ======================  =====================================================
kind               mixin                   hooks you implement
=================  ======================  =====================================================
generator          ``GeneratorMixin``      ``_fit(X, y=None, *, rng)``,
                                           ``_sample(n_samples, conditions, rng)``
reconstructor      ``ReconstructorMixin``  ``_fit(X, y=None, *, rng)`` (X is 12-lead),
                                           ``_transform(X)`` (X is lead I, ``(n, 1, T)``;
                                           return ``(n, 12, T)`` in mV)
risk model         ``RiskMixin``           ``_fit(X, y, *, rng)`` (``y`` is ``(event, time)``),
                                           ``_predict_risk(X, conditions)`` -> ``(n,)``,
                                           higher = earlier event
=================  ======================  =====================================================

Base-class order: the ecgsk mixin first, then (for torch models)
``TorchModelMixin``, then scikit-learn's ``BaseEstimator`` last::

    class MyGenerator(GeneratorMixin, BaseEstimator): ...
    class MyGAN(GeneratorMixin, TorchModelMixin, BaseEstimator): ...
"""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA

from ecgsk.base import GeneratorMixin, Interval

# More constraint forms, when you need them:
# from numbers import Real
# from ecgsk.base import Options, Satisfies

# For the other kinds, import the matching mixin instead:
# from ecgsk.base import ReconstructorMixin, RiskMixin


class MyGenerator(GeneratorMixin, BaseEstimator):
    """TODO one line: what the model is.

    This template's model is deliberately tiny so that the file runs as is:
    a PCA of whole ECGs with Gaussian coefficients (a probabilistic-PCA-like
    generator).  Replace it with yours.

    Parameters
    ----------
    n_components : int, default=4
        TODO: document every parameter.  Number of principal components
        (capped at ``n_ecgs - 1``).
    n_leads : int or None, default=None
        Lead count ``fit`` accepts.  A parameter named ``n_leads`` is read by
        the mixin automatically; ``None`` accepts any number of leads.  A model
        that always needs, say, 8 leads declares the tag ``"n_leads": 8``
        instead.
    random_state : int, RandomState or None, default=None
        Makes ``fit`` and ``sample`` reproducible.  Every model has it.

    Attributes
    ----------
    n_features_in_ : int
        Number of leads seen in ``fit`` (set by the mixin).
    n_timepoints_in_ : int
        Samples per lead seen in ``fit`` (set by the mixin).
    pca_ : sklearn.decomposition.PCA
        TODO: document every fitted attribute.  Fitted state ends in ``_``.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(10, n_leads=2, n_samples=500, random_state=0)
    >>> MyGenerator(random_state=0).fit(X).sample(3).shape
    (3, 2, 500)
    """

    # -- declarations read by the mixins (public; see ecgsk.base.ESTIMATOR_TAGS) ----
    # Tags: only those that differ from the defaults.  "kind": ("generator",)
    # comes from GeneratorMixin.
    tags = {
        "min_samples": 2,               # shortest accepted signal in samples (a constant)
        # "n_leads": 8,                 # lead count(s) fit accepts when there is no n_leads parameter
        # "min_fit_ecgs": 2,            # the fewest ECGs fit accepts (batch norm needs 2)
        # "fixed_length_param": "length",  # the parameter that fixes the input length
        # "conditional": True,          # fit/sample take conditions= (a DataFrame); route them with
        # "requires_conditions": True,  # set_fit_request(conditions=True) in cross_validate/GridSearchCV
        # "non_deterministic": True,    # e.g. cuDNN kernels: the determinism check is skipped
        # "python_dependencies": ("torch",),
    }

    # Constraints on the constructor parameters, checked at the start of every
    # fit; a value passes if it satisfies any form in its list.  Other forms:
    #   "method": [Options("a", "b")],
    #   "lr": [Interval(Real, 0, None, closed="neither")],
    #   "window": [Interval(Integral, 32, None, multiple_of=32)],
    #   "stride": [Interval(Integral, 1, "window")],      # a bound naming another parameter
    #   "flag": [bool],
    #   "y": [Satisfies(lambda value, params: ..., "words completing 'must be ...'")],
    parameter_constraints = {
        "n_components": [Interval(Integral, 1, None)],
        "n_leads": [None, Interval(Integral, 1, None)],
        "random_state": ["random_state"],
    }

    def __init__(self, n_components=4, *, n_leads=None, random_state=None):
        # scikit-learn rule: __init__ stores its parameters unchanged and does
        # nothing else -- no validation, no derived attributes.  The mixin checks
        # them against parameter_constraints when fit is called.
        self.n_components = n_components
        self.n_leads = n_leads
        self.random_state = random_state

    # -- hooks -------------------------------------------------------------------------
    def _fit(self, X, y=None, *, rng):
        """Learn from ``X``.

        ``X`` is already validated: float32 ``(n_ecgs, n_leads, n_samples)`` in mV,
        and so are the parameters (``parameter_constraints``).
        ``rng`` is a :class:`numpy.random.RandomState` derived from
        ``random_state``; draw every random number of the fit from it (for
        torch, wrap the fit in ``with ecgsk.nn.base.seeded(rng):``).
        Conditional models also receive ``conditions=`` (a DataFrame).
        The mixin returns ``self``; the return value here is ignored.
        """
        # TODO: your model.
        n = len(X)
        k = int(min(self.n_components, max(n - 1, 1)))
        self.pca_ = PCA(n_components=k, svd_solver="full").fit(X.reshape(n, -1).astype(np.float64))
        return self

    def _sample(self, n_samples, conditions, rng):
        """Return ``n_samples`` ECGs, shape ``(n_samples, n_leads, n_timepoints)`` in mV.

        ``n_samples`` is a validated positive int.  ``rng`` is either the
        model's own stream (``sample(random_state=None)``) or one made from the
        caller's ``random_state``: draw from it only, never from ``np.random``.
        ``conditions`` is ``None`` or a DataFrame with one row per sample.
        The mixin converts the result to float32.
        """
        # TODO: your sampler.
        std = np.sqrt(self.pca_.explained_variance_)
        coefs = rng.standard_normal((n_samples, len(std))) * std
        flat = self.pca_.inverse_transform(coefs)
        return flat.reshape(n_samples, self.n_features_in_, self.n_timepoints_in_)

    # -- what ecgsk.testing.check_estimator uses ---------------------------------------------
    @classmethod
    def get_test_params(cls):
        """One or more tiny parameter sets that fit in seconds on a CPU.

        ``check_estimator(MyGenerator)`` runs every check once per dict.  Cover
        the main branches of your code (e.g. a fixed lead count).  Torch
        models pass ``"device": "cpu"`` and tiny widths/epochs here.
        """
        return [{"n_components": 2}, {"n_components": 3, "n_leads": 12, "random_state": 0}]

    def get_test_data(self, n_ecgs=8, random_state=0):
        """Optional: the data ``check_estimator`` fits on, as ``(X, fit_params)``.

        The default (in :class:`ecgsk.base.ECGEstimatorMixin`) makes synthetic
        ECGs from :func:`ecgsk.datasets.make_synthetic_ecgs` with the lead count
        of ``n_leads`` / the ``n_leads`` tag (1 when any) and the length of a
        ``length``, ``segment_length``, ``beat_length`` or ``window`` parameter
        (else 1 s); it adds ``conditions`` for conditional models and a
        survival ``y`` for risk models.  Override it when your model needs
        something else -- e.g. signals long enough for several beats, as the
        example plugin does.  This override only shortens the signals.
        """
        from ecgsk.datasets import make_synthetic_ecgs

        n_leads = 1 if self.n_leads is None else self.n_leads
        return make_synthetic_ecgs(n_ecgs, n_leads=n_leads, n_samples=250, random_state=random_state), {}

    # scikit-learn's own estimator tags (3-D input, non-determinism, requires_fit)
    # are derived from the ecgsk tags above: declare ecgsk tags only.


# ---------------------------------------------------------------------------------------
# Notes for the other kinds (sketches; copy the MyGenerator structure around them)
# ---------------------------------------------------------------------------------------
#
# Reconstructor (lead I -> 12 leads):
#
#     class MyReconstructor(ReconstructorMixin, BaseEstimator):
#         # the tag n_leads=12 is inherited: fit takes 12-lead ECGs.
#         def _fit(self, X, y=None, *, rng):      # X: (n, 12, T), lead I is X[:, 0]
#             ...
#         def _transform(self, X):                # X: (n, 1, T), lead I only
#             return Y                            # (n, 12, T) in mV; the mixin writes lead I back exactly
#
#     ``score`` is the mean Pearson r over the 11 reconstructed leads.
#
# Risk model (survival):
#
#     class MyRisk(RiskMixin, BaseEstimator):
#         tags = {"conditional": True}            # if it uses age/sex/... covariates
#         def _fit(self, X, y, *, rng, conditions=None):
#             event, time = y                     # bool (n,), float (n,); validated by the mixin
#             ...
#         def _predict_risk(self, X, conditions):
#             return risk                         # (n,), higher = earlier event
#
#     ``predict`` is ``predict_risk``; ``score`` is Harrell's C-index.  The
#     default get_test_data already supplies a survival y (and conditions when
#     the tag "requires_conditions" is True).
#
# Torch models:
#
#     import torch
#     from ecgsk.nn.base import TorchModelMixin, progress, seeded, to_numpy, to_tensor
#
#     from ecgsk.utils.constraints import TORCH_PARAMETER_CONSTRAINTS  # device, lr, max_epochs, ...
#
#     class MyGAN(GeneratorMixin, TorchModelMixin, BaseEstimator):
#         tags = {"python_dependencies": ("torch",), "min_fit_ecgs": 2}
#         parameter_constraints = {**TORCH_PARAMETER_CONSTRAINTS, "latent_dim": [Interval(Integral, 1, None)]}
#         def __init__(self, ..., device="auto", verbose=0, random_state=None): ...
#         def _fit(self, X, y=None, *, rng):
#             with seeded(rng):                          # seeds torch from rng, global RNG untouched
#                 device = self._reset_device()          # resolves "auto" | "cpu" | "cuda"
#                 self.generator_ = Net(...).to(device)  # modules in attributes ending in "_"
#                 for epoch in progress(range(self.max_epochs), desc="MyGAN", verbose=self.verbose):
#                     ...                                # batches via to_tensor(X_batch, device)
#         def _sample(self, n_samples, conditions, rng):
#             z = to_tensor(rng.standard_normal((n_samples, ...)), self._torch_device())
#             with torch.no_grad():
#                 return to_numpy(self.generator_(z))    # float32 NumPy on the CPU, in mV
#
#     * TorchModelMixin pickles every nn.Module / tensor attribute on the CPU
#       (optimisers are dropped), so a model fitted on a GPU unpickles on a
#       CPU-only machine and moves to its ``device`` again on load.
#     * Load checkpoints with ``torch.load(path, map_location="cpu", weights_only=True)``.
#     * Import torch in the model module only: ``import ecgsk`` and the registry
#       never import a model until it is asked for.
#     * get_test_params: ``"device": "cpu"``, tiny widths, one epoch.


if __name__ == "__main__":  # python plugins/extension_template.py
    from ecgsk.testing import check_estimator

    # raise_exceptions=True (the default) raises an AssertionError naming every failed check.
    print(check_estimator(MyGenerator, raise_exceptions=False))
