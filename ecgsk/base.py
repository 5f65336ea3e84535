"""Mixins, tags and the one validation helper every ecgsk estimator uses.

The public methods (``fit``, ``sample``, ``transform``, ``predict_risk``,
``score``) live here.  They validate input against the data contract of
DESIGN.md section 1, check fitted state, and then call a private hook that a
model implements: ``_fit``, ``_sample``, ``_transform``, ``_predict_risk``.
A model file therefore holds its network, its loss and its hooks, and no
validation code.

Persistence (``save``/``load``, :func:`save_estimator`, :func:`load_estimator`)
lives here too: the file format is :mod:`ecgsk.io.estimator_file`; the torch
half (modules and tensors) is ``ecgsk.nn.base.TorchModelMixin``'s override of
the two hooks ``_persistent_state`` and ``_restore_persistent_state``.

This module never imports torch.
"""

import contextvars
import numbers
import os
import sys
import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .exceptions import ModelFileError
from .io.estimator_file import (
    TAG,
    UnstorableValueError,
    ValueDecoder,
    ValueEncoder,
    class_path,
    read_estimator_file,
    registered_models,
    registered_name,
    resolve_class,
    write_estimator_file,
)
from .utils.constraints import Interval, Options, Satisfies, validate_params
from .utils.validation import (
    check_conditions,
    check_ecg_array,
    check_float_param,
    check_int_param,
    check_n_samples,
    check_survival_target,
    is_lazy_ecg_input,
    reject_sample_weight,
)

__all__ = [
    "check_ecg_array",
    "check_survival_target",
    "check_conditions",
    "check_n_samples",
    "ECGEstimatorMixin",
    "GeneratorMixin",
    "ReconstructorMixin",
    "RiskMixin",
    "BaseECGTransformer",
    "InvertibleTransformerMixin",
    "NotFittedError",
    "ESTIMATOR_TAGS",
    "get_tags",
    "get_parameter_constraints",
    "Interval",
    "Options",
    "Satisfies",
    "check_int_param",
    "check_float_param",
    "save_estimator",
    "load_estimator",
]


#: The tag vocabulary: name -> (default, meaning).  Tags not listed here are an error.
ESTIMATOR_TAGS = {
    "kind": ((), "what the estimator is: a tuple of 'generator', 'reconstructor', 'risk', 'transformer'"),
    "conditional": (False, "fit/sample/predict_risk accept per-ECG `conditions` (a DataFrame)"),
    "requires_conditions": (False, "`conditions` must be given"),
    "n_leads": (None, "lead count(s) fit accepts: None for any, an int or a tuple; an `n_leads` parameter overrides"),
    "min_samples": (1, "the shortest accepted signal, in samples"),
    "min_fit_ecgs": (1, "the fewest ECGs fit accepts (e.g. 2 for batch norm)"),
    "fixed_length_param": (None, "the parameter that fixes the input length, or None for any length"),
    "training_unit": (None, "what `ecgsk train` cuts records into: None for windows of the fixed length (whole "
                            "records without one), 'median_beat' for one R-peak-aligned median beat per record"),
    "non_deterministic": (False, "fit is not reproducible under random_state (the determinism check is skipped)"),
    "python_dependencies": ((), "Python packages the model needs beyond ecgsk's core, e.g. ('torch',)"),
    "requires_fit": (True, "the estimator must be fitted before use"),
    "lazy_input": (False, "fit/transform/predict_risk take a numpy.memmap or an ecgsk.datasets.ECGDataset and read "
                          "it in batches or chunks, never whole (others convert such input to one array in memory)"),
}

#: ECGs per chunk when transform / predict_risk read a lazily read input (a memmap or an ECGDataset).
LAZY_CHUNK_SIZE = 256


def _iter_lazy_chunks(X, chunk_size=None):
    """``(start, stop, batch)`` over a lazily read ECG batch, ``chunk_size`` ECGs at a time, as float32 in memory."""
    size = int(chunk_size or LAZY_CHUNK_SIZE)
    for start in range(0, len(X), size):
        stop = min(start + size, len(X))
        yield start, stop, np.ascontiguousarray(X[start:stop], dtype=np.float32)


def _map_chunks(X, function, conditions=None, chunk_size=None):
    """``function(X)`` (or ``function(X, conditions)``); for lazy input chunk by chunk, outputs concatenated.

    ``function`` must work row by row, so that the chunked result is the
    result on the whole batch.  Only one chunk of the input is in memory at a
    time (the output is one array).
    """
    if not is_lazy_ecg_input(X):
        return function(X) if conditions is None else function(X, conditions)
    parts = []
    for start, stop, chunk in _iter_lazy_chunks(X, chunk_size):
        if conditions is None:
            parts.append(np.asarray(function(chunk)))
        else:
            parts.append(np.asarray(function(chunk, conditions.iloc[start:stop].reset_index(drop=True))))
    return np.concatenate(parts, axis=0)


def _in_memory(X):
    """A lazily read batch read whole into memory (for methods that need every ECG at once, like ``score``)."""
    return np.asarray(X, dtype=np.float32) if is_lazy_ecg_input(X) else X


def _finite_output(estimator, method, out):
    """Return ``out``, or raise when it holds NaN or infinity: no method returns non-finite values silently."""
    bad = ~np.isfinite(out)
    if bad.any():
        raise ValueError(
            f"{type(estimator).__name__}.{method} produced {int(bad.sum())} non-finite value(s) of {bad.size}: the "
            "fitted model cannot be used on this input. Check the units of the training and input data (ecgsk "
            "expects mV; a UnitsWarning flags values that look like uV or worse), or refit.")
    return out


def _check_tag_names(owner, tags):
    if not isinstance(tags, dict):
        raise TypeError(f"{owner}.tags must be a dict of tag name -> value; got {type(tags).__name__}")
    unknown = sorted(set(tags) - set(ESTIMATOR_TAGS))
    if unknown:
        raise TypeError(f"{owner} declares unknown tag(s) {unknown}; known tags: {sorted(ESTIMATOR_TAGS)}")


def get_tags(estimator):
    """Return the tags of an estimator class or instance, defaults filled in.

    Tags are declared in the class attribute ``tags`` (a dict) and merged along
    the class hierarchy, the most derived class winning; ``kind`` is the union
    of the kinds of all the mixins.  Objects without ecgsk mixins get the
    defaults.

    Parameters
    ----------
    estimator : estimator class or instance
        Any object; one without ecgsk mixins gets the defaults.

    Returns
    -------
    dict
        Every tag of :data:`ESTIMATOR_TAGS`.

    Examples
    --------
    >>> from ecgsk.testing import GaussianECGGenerator
    >>> get_tags(GaussianECGGenerator)["kind"]
    ('generator',)
    """
    cls = estimator if isinstance(estimator, type) else type(estimator)
    tags = {name: default for name, (default, _) in ESTIMATOR_TAGS.items()}
    kinds = []
    for klass in reversed(cls.__mro__):
        declared = klass.__dict__.get("tags")
        if isinstance(declared, dict):
            for kind in declared.get("kind", ()):
                if kind not in kinds:
                    kinds.append(kind)
            tags.update(declared)
    tags["kind"] = tuple(kinds)
    return tags


def get_parameter_constraints(estimator):
    """The declared parameter constraints of a class or instance, merged along its hierarchy.

    Parameters
    ----------
    estimator : estimator class or instance
        The class attribute ``parameter_constraints`` of each class in its
        hierarchy is merged, the most derived class winning.

    Returns
    -------
    dict
        Parameter name -> list of accepted forms.

    Examples
    --------
    >>> from ecgsk.testing import GaussianECGGenerator
    >>> list(get_parameter_constraints(GaussianECGGenerator))
    ['random_state']
    """
    cls = estimator if isinstance(estimator, type) else type(estimator)
    merged = {}
    for klass in reversed(cls.__mro__):
        declared = klass.__dict__.get("parameter_constraints")
        if isinstance(declared, dict):
            merged.update(declared)
    return merged


class ECGEstimatorMixin:
    """Shared behaviour of all ecgsk estimators: tags, declared parameters, input checks, RNG streams.

    Subclasses declare

    - ``tags``: a dict over the vocabulary :data:`ESTIMATOR_TAGS` (an unknown
      name is a ``TypeError`` when the class is defined);
    - ``parameter_constraints``: a dict from parameter name to accepted forms
      (:mod:`ecgsk.utils.constraints`), checked at the start of every ``fit``.
    """

    tags = {}
    parameter_constraints = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _check_tag_names(cls.__name__, cls.__dict__.get("tags", {}))
        constraints = cls.__dict__.get("parameter_constraints", {})
        if not isinstance(constraints, dict):
            raise TypeError(f"{cls.__name__}.parameter_constraints must be a dict; got {type(constraints).__name__}")

    @classmethod
    def get_tags(cls):
        """This estimator's tags (see :func:`ecgsk.base.get_tags`)."""
        return get_tags(cls)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = True
        tags.non_deterministic = bool(get_tags(self)["non_deterministic"])
        tags.requires_fit = bool(get_tags(self)["requires_fit"])
        return tags

    def _validate_params(self):
        """Check the constructor parameters against ``parameter_constraints`` (called by ``fit``)."""
        validate_params(self.get_params(deep=False), get_parameter_constraints(self), owner=type(self).__name__)

    # -- validation ---------------------------------------------------------
    def _expected_fit_leads(self):
        n_leads = getattr(self, "n_leads", None)
        if isinstance(n_leads, numbers.Integral) and not isinstance(n_leads, bool):
            return int(n_leads)
        return get_tags(self)["n_leads"]

    def _required_length(self, reset):
        """The signal length this estimator needs, or None for any length.

        Models whose networks have a fixed input length name the parameter in
        the tag ``fixed_length_param`` (``"length"``, ``"beat_length"`` ...);
        after fitting, the fitted length is required.
        """
        param = get_tags(self)["fixed_length_param"]
        if param is None:
            return None
        if not reset and getattr(self, "n_timepoints_in_", None) is not None:
            return self.n_timepoints_in_
        return getattr(self, param, None)

    def _validate_ecg(self, X, *, reset, n_leads=None, name="X"):
        """Check X; on ``reset`` record ``n_features_in_`` (the number of leads)."""
        if n_leads is None:
            n_leads = self._expected_fit_leads() if reset else self.n_features_in_
        tags = get_tags(self)
        if tags["lazy_input"] and is_lazy_ecg_input(X):
            from .datasets.dataset import as_ecg_dataset

            X = as_ecg_dataset(X)  # checked chunk by chunk below, read per batch by the model
        X = check_ecg_array(X, n_leads=n_leads, min_samples=tags["min_samples"], name=name,
                            lazy=bool(tags["lazy_input"]))
        if reset and len(X) < tags["min_fit_ecgs"]:
            raise ValueError(f"{type(self).__name__} needs at least {tags['min_fit_ecgs']} ECGs to fit; got {len(X)}")
        length = self._required_length(reset)
        if length is not None and X.shape[2] != length:
            raise ValueError(
                f"{name} has {X.shape[2]} samples per lead but {type(self).__name__} expects exactly {length} "
                f"({tags['fixed_length_param']}={getattr(self, tags['fixed_length_param'], None)}; "
                f"shape received: {X.shape}). Segment or crop the ECGs first (ecgsk.preprocessing.Crop, "
                f"WindowSegmenter, BeatSegmenter, MedianBeat), or change {tags['fixed_length_param']}"
            )
        if reset:
            self.n_features_in_ = X.shape[1]
            self.n_timepoints_in_ = X.shape[2]
        return X

    def _check_conditions_arg(self, conditions, n, *, allow_broadcast=False):
        tags = get_tags(self)
        if conditions is None:
            if tags["requires_conditions"]:
                raise ValueError(f"{type(self).__name__} needs `conditions` (one row per ECG)")
            return None
        if not tags["conditional"]:
            raise ValueError(
                f"{type(self).__name__} does not use `conditions`; got a value for it. "
                "Pass conditions only to conditional models."
            )
        return check_conditions(conditions, n, allow_broadcast=allow_broadcast)

    def _check_fitted(self):
        check_is_fitted(self, "n_features_in_")

    def _start_rngs(self):
        """Seed the fit RNG and the stream that ``sample(random_state=None)`` draws from."""
        rng = check_random_state(getattr(self, "random_state", None))
        fit_seed, sample_seed = rng.randint(0, 2**31 - 1, size=2)
        self._sample_rng_ = np.random.RandomState(sample_seed)
        return np.random.RandomState(fit_seed)

    # -- persistence ---------------------------------------------------------
    def save(self, path):
        """Save the estimator, fitted or not, to one file (safetensors + JSON, no pickle).

        The file holds the constructor parameters, the fitted attributes
        (NumPy arrays as tensors, everything else as JSON), the weights of
        torch models, the ecgsk version and the model's registered name.  It
        is written atomically: a failure never leaves a partial file.  See
        ``docs/persistence.md``.

        Parameters
        ----------
        path : str or path-like
            The file to write (``.ecgsk`` is the customary suffix); an existing
            file is replaced.

        Raises
        ------
        TypeError
            When a fitted attribute holds a value that cannot be stored safely
            (the message names the attribute).  Parameters that cannot be
            stored (a callable, say) only warn: the file records their
            ``repr`` and loading gives them their default.
        NotImplementedError
            For a torch model that cannot rebuild its modules (no
            ``_build_modules``).

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> from ecgsk.testing import GaussianECGGenerator
        >>> gen = GaussianECGGenerator(random_state=0).fit(np.zeros((3, 2, 10)))
        >>> with tempfile.TemporaryDirectory() as d:
        ...     gen.save(os.path.join(d, "gen.ecgsk"))
        ...     same = GaussianECGGenerator.load(os.path.join(d, "gen.ecgsk"))
        >>> bool((same.sample(2, random_state=1) == gen.sample(2, random_state=1)).all())
        True
        """
        save_estimator(self, path)

    @classmethod
    def load(cls, path):
        """Load an estimator of this class (or of a subclass) saved with :meth:`save`.

        Nothing in the file is executed.  The result is fitted exactly as the
        saved estimator was: its outputs are identical, and its default
        ``sample`` stream continues where the saved one stood.  A torch model
        runs on its ``device`` parameter resolved again, and on the CPU, with
        a warning, when that device is missing.

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        estimator : cls

        Raises
        ------
        ModelFileError
            When the file is missing, damaged or not an ecgsk model file, holds
            another class, or does not fit the class (wrong shapes, missing
            tensors).  The message names the file.

        Examples
        --------
        >>> from ecgsk.models.linear import LinearLeadReconstructor  # doctest: +SKIP
        >>> model = LinearLeadReconstructor.load("linear.ecgsk")  # doctest: +SKIP
        """
        return load_estimator(path, expected=cls)

    def _persistent_attributes(self):
        """The attributes a file stores: everything in ``__dict__`` that is not a parameter."""
        return _default_persistent_attributes(self)

    def _persistent_state(self):
        """``(arrays, attributes)``: the fitted state as named NumPy arrays and JSON nodes.

        Hook for :meth:`save`.  The base version stores what
        :meth:`_persistent_attributes` returns: NumPy arrays go into ``arrays``
        under ``attr/<name>``, the rest becomes JSON nodes.  ``ecgsk.nn``'s
        ``TorchModelMixin`` extends it to torch modules and tensors.
        """
        return _encode_attributes(self, self._persistent_attributes())

    def _restore_persistent_state(self, arrays, attributes):
        """Set the fitted state from the ``arrays`` and ``attributes`` of :meth:`_persistent_state`.

        Hook for :meth:`load`, called on a fresh instance built from the
        stored parameters.  Raises :class:`~ecgsk.exceptions.ModelFileError`
        for a state that does not fit.
        """
        _restore_attributes(self, arrays, attributes)

    # -- testing hooks ------------------------------------------------------
    @classmethod
    def get_test_params(cls):
        """Small parameter sets that fit in seconds on a CPU (override in models)."""
        return [{}]

    def get_test_data(self, n_ecgs=8, random_state=0):
        """Return ``(X, fit_params)`` suitable for fitting this estimator in tests.

        The default builds synthetic ECGs whose lead count and length follow the
        estimator's parameters (``n_leads``, ``length``, ``segment_length`` or
        ``beat_length``); models with other needs override it.

        Parameters
        ----------
        n_ecgs : int, default=8
            Number of ECGs.
        random_state : int, default=0
            Seed of the synthetic ECGs (and of any target or conditions).

        Returns
        -------
        X : ndarray of shape (n_ecgs, n_leads, n_samples)
            ECGs in mV.
        fit_params : dict
            Further arguments of ``fit`` (``y``, ``conditions``), possibly empty.
        """
        from .datasets import make_synthetic_ecgs

        n_leads = self._expected_fit_leads()
        if not isinstance(n_leads, numbers.Integral):
            n_leads = 1 if n_leads is None else tuple(n_leads)[0]
        length = None
        for attr in ("length", "segment_length", "beat_length", "window"):
            value = getattr(self, attr, None)
            if isinstance(value, numbers.Integral):
                length = int(value)
                break
        fs = getattr(self, "fs", 500) or 500
        if length is None:
            length = max(int(fs), get_tags(self)["min_samples"])
        X = make_synthetic_ecgs(n_ecgs, n_leads=n_leads, fs=fs, n_samples=length, random_state=random_state)
        fit_params = {}
        rng = np.random.RandomState(random_state)
        if get_tags(self)["requires_conditions"]:
            import pandas as pd

            fit_params["conditions"] = pd.DataFrame(
                {"age": rng.uniform(20, 80, n_ecgs), "sex": rng.randint(0, 2, n_ecgs)}
            )
        if isinstance(self, RiskMixin):
            time = rng.exponential(10.0, n_ecgs)
            event = rng.rand(n_ecgs) < 0.7
            event[:2] = True
            fit_params["y"] = np.column_stack([event, time])
        return X, fit_params


class GeneratorMixin(ECGEstimatorMixin):
    """Mixin for generative models: ``fit(X)`` then ``sample(n_samples)``.

    ``score(X)`` is the negative RBF MMD between ``sample(len(X))`` and ``X``
    on ECG features (higher is better).
    """

    tags = {"kind": ("generator",)}

    def fit(self, X, y=None, conditions=None):
        """Fit the generator on ECGs in mV.

        Parameters
        ----------
        X : array-like, numpy.memmap or ECGDataset of shape (n_ecgs, n_leads, n_samples)
            A memmap or an :class:`~ecgsk.datasets.ECGDataset` is read batch
            by batch, never whole, by models with the tag ``lazy_input``.
        y : ignored
        conditions : DataFrame or array-like, optional
            Per-ECG covariates, for conditional models only.

        Returns
        -------
        self
        """
        self._validate_params()
        X = self._validate_ecg(X, reset=True)
        conditions = self._check_conditions_arg(conditions, len(X))
        rng = self._start_rngs()
        fit_params = {} if conditions is None else {"conditions": conditions}
        self._fit(X, y, rng=rng, **fit_params)
        return self

    def sample(self, n_samples=1, *, conditions=None, random_state=None):
        """Generate ECGs.

        Parameters
        ----------
        n_samples : int, default=1
            How many ECGs to generate.
        conditions : DataFrame or array-like, optional
            Covariates for conditional models; a single row is repeated.
        random_state : int, RandomState or None
            ``None`` draws from the estimator's own stream, seeded in ``fit``
            from ``random_state``, so that identically fitted models produce
            identical sequences of samples.

        Returns
        -------
        ndarray of float32, shape (n_samples, n_leads, n_timepoints)
            ECGs in mV.
        """
        self._check_fitted()
        n_samples = check_n_samples(n_samples)
        conditions = self._check_conditions_arg(conditions, n_samples, allow_broadcast=True)
        rng = self._sample_rng_ if random_state is None else check_random_state(random_state)
        out = self._sample(n_samples, conditions, rng)
        return _finite_output(self, "sample", np.asarray(out, dtype=np.float32))

    def iter_samples(self, n_samples, *, batch_size=64, conditions=None, random_state=None, integers=False):
        """Generate ECGs batch by batch, for outputs larger than memory.

        Parameters
        ----------
        n_samples : int
            How many ECGs to generate in all.
        batch_size : int, default=64
            ECGs per yielded batch (the last one may be smaller).
        conditions : DataFrame or array-like, optional
            Covariates for conditional models: one row (repeated) or one row
            per ECG.
        random_state : int, RandomState or None
            As in :meth:`sample`; one stream runs through all the batches.
        integers : bool, default=False
            Yield the model's native integer output in microvolts (int32)
            instead of float32 millivolts.  Models whose networks define an
            integer scale (Pulse2Pulse's ``int(output * 6000)``) yield exactly
            those integers; others yield ``ecgsk.io.mv_to_asc_microvolts`` of
            their millivolts.

        Yields
        ------
        ndarray of shape (batch, n_leads, n_timepoints)

        Examples
        --------
        >>> import numpy as np
        >>> from ecgsk.testing import GaussianECGGenerator
        >>> gen = GaussianECGGenerator(random_state=0).fit(np.zeros((3, 2, 10)))
        >>> [b.shape[0] for b in gen.iter_samples(5, batch_size=2)]
        [2, 2, 1]
        """
        self._check_fitted()
        n_samples = check_n_samples(n_samples)
        batch_size = check_int_param(batch_size, "batch_size")
        conditions = self._check_conditions_arg(conditions, n_samples, allow_broadcast=True)
        rng = self._sample_rng_ if random_state is None else check_random_state(random_state)
        for raw in self._sample_batches(n_samples, conditions, rng, batch_size):
            yield self._finish_batch(raw, integers)

    def sample_ids(self, ids, *, conditions=None, random_state=None, batch_size=64, integers=False):
        """Generate the ECGs with the given ids, batch by batch; each depends only on its id and the seed.

        The noise of ECG ``id`` comes from its own generator,
        ``np.random.SeedSequence(base_seed, spawn_key=(id,))`` (the ``id``-th
        child of ``SeedSequence(base_seed)``), so the ECG with a given id is the
        same whatever the batch size, the other ids asked for, the shard or the
        number of processes.  This is how :func:`ecgsk.generate` splits work
        across processes and machines.  Models with a batched path (such as
        Pulse2Pulse) give byte-identical output on one kind of device; CPU and
        CUDA results differ by float rounding.

        Parameters
        ----------
        ids : iterable of int
            Non-negative ECG ids, e.g. ``range(1000, 2000)``; batches come in
            this order.  An empty iterable yields nothing.
        conditions : DataFrame or array-like, optional
            Covariates for conditional models: one row per id (in the order of
            ``ids``) or one row for all of them.
        random_state : int, RandomState, Generator or None
            An int is the base seed itself.  A RandomState or Generator gives
            the base seed as one integer drawn from it.  ``None`` draws it from
            the estimator's own stream (seeded in ``fit``), as :meth:`sample`
            does.
        batch_size : int, default=64
            ECGs per yielded batch (the last one may be smaller).  It does not
            change the ECGs.
        integers : bool, default=False
            Yield the model's native integer microvolts (int32) instead of
            float32 millivolts, as in :meth:`iter_samples`.

        Yields
        ------
        ndarray of shape (batch, n_leads, n_timepoints)

        Raises
        ------
        ValueError
            For a negative or non-integer id, or when the model generates
            non-finite values.

        Examples
        --------
        >>> import numpy as np
        >>> from ecgsk.testing import GaussianECGGenerator
        >>> X = np.random.default_rng(0).normal(size=(5, 2, 10))
        >>> gen = GaussianECGGenerator(random_state=0).fit(X)
        >>> a = np.concatenate(list(gen.sample_ids(range(6), random_state=7, batch_size=4)))
        >>> b = np.concatenate(list(gen.sample_ids([4, 5], random_state=7)))
        >>> bool(np.array_equal(a[4:], b))  # ECGs 4 and 5, whatever else is generated
        True
        """
        self._check_fitted()
        ids = self._check_ids(ids)
        batch_size = check_int_param(batch_size, "batch_size")
        if not ids:
            return
        conditions = self._check_conditions_arg(conditions, len(ids), allow_broadcast=True)
        seeds = self._ecg_seeds(ids, self._base_seed(random_state))
        for raw in self._sample_seeded_batches(seeds, conditions, batch_size):
            yield self._finish_batch(raw, integers)

    @staticmethod
    def _check_ids(ids):
        out = []
        for i in ids:
            if isinstance(i, (bool, np.bool_)) or not isinstance(i, numbers.Integral) or i < 0:
                raise ValueError(f"ids must be non-negative integers; got {i!r}")
            out.append(int(i))
        return out

    def _base_seed(self, random_state):
        """The integer base seed of :meth:`sample_ids` for ``random_state``."""
        if isinstance(random_state, numbers.Integral) and not isinstance(random_state, (bool, np.bool_)):
            if random_state < 0:
                raise ValueError(f"random_state must be a non-negative integer; got {random_state}")
            return int(random_state)
        if isinstance(random_state, np.random.Generator):
            return int(random_state.integers(0, 2**63 - 1))
        rng = self._sample_rng_ if random_state is None else check_random_state(random_state)
        return int(rng.randint(0, 2**63 - 1, dtype=np.int64))

    @staticmethod
    def _ecg_seeds(ids, base_seed):
        """One ``SeedSequence`` per ECG id: the ``id``-th child of ``SeedSequence(base_seed)``."""
        return [np.random.SeedSequence(base_seed, spawn_key=(int(i),)) for i in ids]

    def _finish_batch(self, raw, integers):
        """Raw output to the yielded batch (int32 µV or float32 mV); non-finite output raises."""
        if integers:
            if not np.isfinite(np.asarray(raw)).all():
                raise ValueError(f"{type(self).__name__} generated non-finite values; the model has diverged")
            return np.asarray(self._raw_to_microvolts(raw), dtype=np.int32)
        batch = np.asarray(self._raw_to_mv(raw), dtype=np.float32)
        if not np.isfinite(batch).all():
            raise ValueError(f"{type(self).__name__} generated non-finite values; the model has diverged")
        return batch

    def _sample_seeded_batches(self, seeds, conditions, batch_size):
        """Yield raw output batches of ``batch_size`` ECGs, ECG ``j`` drawn from ``seeds[j]``.

        The hook behind :meth:`sample_ids`.  The default is correct for any
        generator and slow: one :meth:`_sample_raw` call per ECG, with a
        ``RandomState`` on the ECG's own seed.  A model overrides it with a
        batched path whose per-ECG output does not depend on the batch.
        """
        for start in range(0, len(seeds), batch_size):
            parts = []
            for j in range(start, min(start + batch_size, len(seeds))):
                part = None if conditions is None else conditions.iloc[j:j + 1].reset_index(drop=True)
                rng = np.random.RandomState(np.random.MT19937(seeds[j]))
                parts.append(np.asarray(self._sample_raw(1, part, rng)))
            yield np.concatenate(parts, axis=0)

    def _sample_batches(self, n_samples, conditions, rng, batch_size):
        """Yield raw output batches; by default one :meth:`_sample_raw` call per batch."""
        done = 0
        while done < n_samples:
            size = min(batch_size, n_samples - done)
            part = None if conditions is None else conditions.iloc[done:done + size].reset_index(drop=True)
            yield self._sample_raw(size, part, rng)
            done += size

    def _sample_raw(self, n_samples, conditions, rng):
        """The network's raw output for one batch; by default :meth:`_sample` in mV."""
        return self._sample(n_samples, conditions, rng)

    def _raw_to_mv(self, raw):
        """Raw output to float32 millivolts (identity by default)."""
        return raw

    def _raw_to_microvolts(self, raw):
        """Raw output to integer microvolts (truncated toward zero, as deepfake-ecg writes them)."""
        from .io import mv_to_asc_microvolts

        mv = np.asarray(self._raw_to_mv(raw), dtype=np.float32)
        if not np.isfinite(mv).all():
            raise ValueError(f"{type(self).__name__} generated non-finite values; the model has diverged")
        return mv_to_asc_microvolts(mv)

    def score(self, X, y=None, conditions=None, sample_weight=None):
        """Negative feature-space RBF MMD between samples and ``X`` (higher is better).

        ``sample_weight`` exists so that scikit-learn's Pipeline can route
        metadata; weights are not supported and must be None.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples)
            ECGs in mV.
        y : None
            Ignored.
        conditions : DataFrame, dict or array-like, optional
            Per-ECG covariates of ``X`` (one row per ECG), for conditional
            models: ``len(X)`` ECGs are sampled with them.
        sample_weight : None
            Only ``None`` is accepted.

        Returns
        -------
        float
            ``-MMD`` between ``sample(len(X))`` and ``X`` on ECG features.
        """
        from .metrics import mmd

        reject_sample_weight(sample_weight)
        self._check_fitted()
        X = _in_memory(self._validate_ecg(X, reset=False))
        conditions = self._check_conditions_arg(conditions, len(X))
        generated = self.sample(len(X), conditions=conditions, random_state=0)
        return -float(mmd(generated, X, features=True))

    def _fit(self, X, y=None, *, rng, **fit_params):  # pragma: no cover - abstract
        raise NotImplementedError

    def _sample(self, n_samples, conditions, rng):  # pragma: no cover - abstract
        raise NotImplementedError


class ReconstructorMixin(ECGEstimatorMixin):
    """Mixin for lead-I -> 12-lead reconstruction.

    ``fit`` takes 12-lead ECGs; ``transform`` takes lead I as ``(n, 1, T)`` or a
    12-lead batch (lead I is read from it) and returns ``(n, 12, T)``.
    ``score`` is the mean Pearson r over the 11 reconstructed leads.
    """

    tags = {"kind": ("reconstructor",), "n_leads": 12}

    def fit(self, X, y=None):
        """Learn the map from lead I to the other leads from 12-lead ECGs in mV.

        Parameters
        ----------
        X : array-like, numpy.memmap or ECGDataset of shape (n_ecgs, 12, n_samples)
            A memmap or an :class:`~ecgsk.datasets.ECGDataset` is read in
            batches or chunks, never whole, by models with the tag
            ``lazy_input``.
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        X = self._validate_ecg(X, reset=True)
        rng = self._start_rngs()
        self._fit(X, y, rng=rng)
        return self

    def transform(self, X):
        """Reconstruct 12 leads from lead I.

        Parameters
        ----------
        X : array-like, numpy.memmap or ECGDataset of shape (n_ecgs, 1, T) or (n_ecgs, 12, T)
            A memmap or an :class:`~ecgsk.datasets.ECGDataset` is
            reconstructed ``LAZY_CHUNK_SIZE`` (256) ECGs at a time by models
            with the tag ``lazy_input``; the output is one array in memory.

        Returns
        -------
        ndarray of float32, shape (n_ecgs, 12, T)
        """
        self._check_fitted()
        X = self._validate_ecg(X, reset=False, n_leads=(1, self.n_features_in_))
        out = _map_chunks(X, self._transform_lead_i)
        return _finite_output(self, "transform", out)

    def _transform_lead_i(self, X):
        lead_i = X[:, :1, :]
        out = np.asarray(self._transform(lead_i), dtype=np.float32)
        # Lead I is known exactly; never return a modified copy of it.
        out[:, 0, :] = lead_i[:, 0, :]
        return out

    def fit_transform(self, X, y=None):
        return self.fit(X, y).transform(X)

    def score(self, X, y=None, sample_weight=None):
        """Mean Pearson r over the 11 reconstructed leads (higher is better).

        ``sample_weight`` must be None (it exists for Pipeline metadata routing).

        Parameters
        ----------
        X : array-like of shape (n_ecgs, 12, n_samples)
            True 12-lead ECGs in mV; lead I is the input.
        y : None
            Ignored.
        sample_weight : None
            Only ``None`` is accepted.

        Returns
        -------
        float
        """
        from .metrics import pearson_per_lead

        reject_sample_weight(sample_weight)
        self._check_fitted()
        X = _in_memory(self._validate_ecg(X, reset=False, n_leads=self.n_features_in_))
        return float(np.mean(pearson_per_lead(X[:, 1:], self.transform(X)[:, 1:])))

    def _fit(self, X, y=None, *, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def _transform(self, X):  # pragma: no cover - abstract
        raise NotImplementedError


class RiskMixin(ECGEstimatorMixin):
    """Mixin for risk models: ``fit(X, y)`` with a survival target, ``predict_risk(X)``.

    A higher risk means an earlier event; ``score`` is Harrell's C-index.
    """

    tags = {"kind": ("risk",)}

    def fit(self, X, y, conditions=None):
        """Fit on ECGs and a survival target ``y`` (structured ``(event, time)`` or ``(n, 2)``).

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples)
            ECGs in mV.
        y : structured array with fields ``event`` and ``time``, or array of shape (n_ecgs, 2)
            The survival target (scikit-survival's layout, or ``(event, time)``
            columns).
        conditions : DataFrame, dict or array-like, optional
            Per-ECG covariates (one row per ECG), for conditional models; a
            model that needs them raises without them.

        Returns
        -------
        self
        """
        self._validate_params()
        X = self._validate_ecg(X, reset=True)
        event, time = check_survival_target(y, len(X))
        conditions = self._check_conditions_arg(conditions, len(X))
        rng = self._start_rngs()
        fit_params = {} if conditions is None else {"conditions": conditions}
        self._fit(X, (event, time), rng=rng, **fit_params)
        return self

    def predict_risk(self, X, conditions=None):
        """Risk scores of shape (n_ecgs,); higher means an earlier event.

        Parameters
        ----------
        X : array-like, numpy.memmap or ECGDataset of shape (n_ecgs, n_leads, n_samples)
            ECGs in mV.  A memmap or an :class:`~ecgsk.datasets.ECGDataset`
            is scored ``LAZY_CHUNK_SIZE`` (256) ECGs at a time by models with
            the tag ``lazy_input``.
        conditions : DataFrame or array-like, optional
            Per-ECG covariates (one row per ECG), for conditional models.

        Returns
        -------
        ndarray of float64, shape (n_ecgs,)
        """
        self._check_fitted()
        X = self._validate_ecg(X, reset=False)
        conditions = self._check_conditions_arg(conditions, len(X))
        if conditions is None:
            risk = _map_chunks(X, lambda chunk: np.asarray(self._predict_risk(chunk, None), dtype=np.float64))
        else:
            risk = _map_chunks(X, lambda chunk, c: np.asarray(self._predict_risk(chunk, c), dtype=np.float64),
                               conditions)
        risk = np.asarray(risk, dtype=np.float64).reshape(len(X))
        return _finite_output(self, "predict_risk", risk)

    def predict(self, X, conditions=None):
        """Alias of :meth:`predict_risk`.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples)
            ECGs in mV.
        conditions : DataFrame, dict or array-like, optional
            Per-ECG covariates (one row per ECG), for conditional models.

        Returns
        -------
        ndarray of float64, shape (n_ecgs,)
            Higher means an earlier event.
        """
        return self.predict_risk(X, conditions=conditions)

    def score(self, X, y, conditions=None, sample_weight=None):
        """Harrell's C-index of the predicted risk (higher is better).

        ``sample_weight`` must be None (it exists for Pipeline metadata routing).

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples)
            ECGs in mV.
        y : structured array with fields ``event`` and ``time``, or array of shape (n_ecgs, 2)
            The survival target.
        conditions : DataFrame, dict or array-like, optional
            Per-ECG covariates (one row per ECG), for conditional models.
        sample_weight : None
            Only ``None`` is accepted.

        Returns
        -------
        float
        """
        from .metrics import concordance_index

        reject_sample_weight(sample_weight)
        risk = self.predict_risk(X, conditions=conditions)
        return float(concordance_index(y, risk))

    def _fit(self, X, y, *, rng, **fit_params):  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_risk(self, X, conditions):  # pragma: no cover - abstract
        raise NotImplementedError


class BaseECGTransformer(ECGEstimatorMixin, TransformerMixin, BaseEstimator):
    """Base for preprocessing transformers over ``(n, leads, T)`` batches in mV.

    Subclasses implement ``_fit(X)`` (optional; stateless by default) and
    ``_transform(X)``, and ``_inverse_transform(X)`` where invertible.
    """

    tags = {"kind": ("transformer",)}

    def fit(self, X, y=None):
        """Validate ``X`` and learn any state; returns ``self``.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples)
            ECGs in mV.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self._validate_params()
        X = self._validate_ecg(X, reset=True)
        self._fit(X)
        return self

    def transform(self, X):
        """Apply the transform to a batch in mV.

        Transformers with the tag ``lazy_input`` (row-wise ones: the
        filters, ``Crop``, ``MedianBeat``, ``LeadSelector``) transform a
        memmap or an :class:`~ecgsk.datasets.ECGDataset` ``LAZY_CHUNK_SIZE``
        (256) ECGs at a time and return one array in memory.

        Parameters
        ----------
        X : array-like, numpy.memmap or ECGDataset of shape (n_ecgs, n_leads, n_samples)
            ECGs in mV.

        Returns
        -------
        ndarray
            The transformed batch.
        """
        self._check_fitted()
        X = self._validate_ecg(X, reset=False)
        return _map_chunks(X, self._transform)

    def _fit(self, X):
        return self

    def _transform(self, X):  # pragma: no cover - abstract
        raise NotImplementedError


class InvertibleTransformerMixin:
    """Adds ``inverse_transform`` to a :class:`BaseECGTransformer` with ``_inverse_transform``.

    Put it first in the bases: ``class Scaler(InvertibleTransformerMixin, BaseECGTransformer)``.
    The lead count accepted is ``_n_leads_inverse()``, by default the fitted one.
    """

    def _n_leads_inverse(self):
        return self.n_features_in_

    def inverse_transform(self, X):
        """Map transformed ECGs back to the input space (in mV).

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples)
            Output of ``transform`` (or ECGs in its units, such as samples of a
            generator fitted after this step).

        Returns
        -------
        ndarray of float32
        """
        self._check_fitted()
        X = check_ecg_array(X, n_leads=self._n_leads_inverse(), name="X")
        return self._inverse_transform(X)

    def _inverse_transform(self, X):  # pragma: no cover - abstract
        raise NotImplementedError


# -- persistence -------------------------------------------------------------------
# The file format is ecgsk.io.estimator_file; here estimators become JSON nodes
# and back.  A nested estimator (a pipeline's steps, a FilterChain's filters_,
# an EMA callback in `callbacks`) is a node {"__ecgsk__": "estimator", "class",
# "prefix", "params", "attributes"} whose arrays are stored under "<prefix>/".

#: (file name, trusted top-level packages) of the load in progress.
_LOADING = contextvars.ContextVar("ecgsk_loading", default=("<model file>", frozenset({"ecgsk", "sklearn"})))


def _default_persistent_attributes(est):
    params = est.get_params(deep=False)
    return {k: v for k, v in vars(est).items() if k not in params}


def _plugin_packages(registered):
    return {module.split(".")[0] for module, _ in registered.values()}


def _trusted_for(cls, registered):
    """Packages whose classes may appear nested in a file of ``cls``: ecgsk, sklearn, plugins, cls's own."""
    return frozenset({"ecgsk", "sklearn", cls.__module__.split(".")[0]} | _plugin_packages(registered))


def _short_repr(value, limit=200):
    try:
        text = repr(value)
    except Exception:  # pragma: no cover - a broken __repr__
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _encode_object(trusted):
    """The encoder callback for objects: estimators (recursively) and plain ecgsk objects."""

    def encode(encoder, value, path):
        cls = type(value)
        top = cls.__module__.split(".")[0]
        if top not in trusted:
            return None
        if isinstance(value, BaseEstimator):
            return _encode_nested_estimator(value, path, encoder.arrays, trusted)
        if top == "sklearn" or not hasattr(value, "__dict__") or hasattr(cls, "__slots__"):
            return None
        if cls.__reduce_ex__ is not object.__reduce_ex__ or getattr(cls, "__setstate__", None) not in (
                None, getattr(object, "__setstate__", None)):
            return None  # custom pickling means the instance dict alone does not describe the object
        state = {}
        for name, item in vars(value).items():
            state[name] = encoder.encode(item, f"{path}/state/{name}")
        return {TAG: "object", "class": class_path(cls), "state": state}

    return encode


def _encode_params(est, trusted, arrays, prefix="param"):
    """The parameters as JSON nodes; one that cannot be stored warns and is recorded by its repr."""
    nodes = {}
    name_of = type(est).__name__
    for name, value in est.get_params(deep=False).items():
        staged = {}
        try:
            nodes[name] = ValueEncoder(staged, encode_object=_encode_object(trusted)).encode(value, f"{prefix}/{name}")
        except UnstorableValueError as exc:
            text = _short_repr(value)
            warnings.warn(
                f"{name_of}.save: parameter {name!r} = {text} cannot be stored safely ({exc.path}: {exc.reason}); "
                "the file records its repr, and loading gives the parameter its default value",
                UserWarning, stacklevel=4,
            )
            nodes[name] = {TAG: "unstored", "repr": text}
            continue
        arrays.update(staged)
    return nodes


def _is_torch_value(value):
    return any(getattr(k, "__module__", "").split(".")[0] == "torch" for k in type(value).__mro__)


def _metadata_requests(value):
    """sklearn's ``_metadata_request`` as ``{method: {param: alias}}``, whatever sklearn's version stores."""
    if isinstance(value, dict):
        return {str(method): dict(requests) for method, requests in value.items()}
    out = {}
    for method, requests in vars(value).items():
        inner = getattr(requests, "_requests", None)
        if isinstance(inner, dict) and inner:
            out[method] = dict(inner)
    return out


def _encode_attributes(est, attributes, trusted=None):
    """Default ``_persistent_state``: JSON nodes and arrays (``attr/<name>``) of the fitted attributes."""
    if trusted is None:
        trusted = _trusted_for(type(est), registered_models())
    arrays = {}
    encoder = ValueEncoder(arrays, encode_object=_encode_object(trusted))
    nodes = {}
    name_of = type(est).__name__
    torch_valued = [name for name, value in attributes.items() if _is_torch_value(value)]
    if torch_valued:
        raise NotImplementedError(
            f"{name_of}.save: the attributes {torch_valued} hold torch objects, and {name_of} does not store "
            "torch state: a torch model must inherit ecgsk.nn.engine.TorchEstimatorMixin (before its kind "
            "mixin) and implement _build_modules() to be saved. Pickle it instead until then"
        )
    for name, value in attributes.items():
        if name == "_metadata_request":  # set_fit_request(...) routing, stored so it survives the round trip
            requests = encoder.encode(_metadata_requests(value), f"attr/{name}")
            nodes[name] = {TAG: "metadata_request", "requests": requests}
            continue
        try:
            nodes[name] = encoder.encode(value, f"attr/{name}")
        except UnstorableValueError as exc:
            raise TypeError(
                f"{name_of}.save: fitted attribute {name!r} cannot be stored safely: {exc.reason} (at {exc.path})"
            ) from exc
    return arrays, nodes


def _persistent_state_of(est, trusted):
    if hasattr(est, "_persistent_state"):
        return est._persistent_state()
    return _encode_attributes(est, _default_persistent_attributes(est), trusted)


def _encode_nested_estimator(est, path, arrays, trusted):
    own_arrays, attributes = _persistent_state_of(est, trusted)
    params = _encode_params(est, trusted, own_arrays)
    for key, value in own_arrays.items():
        arrays[f"{path}/{key}"] = value
    return {TAG: "estimator", "class": class_path(type(est)), "prefix": path, "params": params,
            "attributes": attributes}


def _decode_object(decoder, node, where):
    """The decoder callback: estimators and plain objects, from allowed classes only."""
    source, trusted = _LOADING.get()
    tag = node.get(TAG)
    if tag == "estimator":
        cls = resolve_class(decoder.field(node, "class", str, where), trusted=trusted, source=source)
        if not issubclass(cls, BaseEstimator):
            decoder.fail(where, f"{class_path(cls)} is not a scikit-learn estimator")
        prefix = decoder.field(node, "prefix", str, where) + "/"
        arrays = {k[len(prefix):]: v for k, v in decoder.arrays.items() if k.startswith(prefix)}
        return _build_estimator(cls, decoder.field(node, "params", dict, where),
                                decoder.field(node, "attributes", dict, where), arrays, source, where)
    if tag == "object":
        cls = resolve_class(decoder.field(node, "class", str, where), trusted=trusted - {"sklearn"}, source=source)
        state = decoder.decode(decoder.field(node, "state", dict, where), where)
        obj = cls.__new__(cls)
        obj.__dict__.update(state)
        return obj
    if tag in ("module", "tensor"):
        decoder.fail(where, "torch state outside a torch model's own attributes")
    decoder.fail(where, f"unknown entry type {tag!r} (a file from a newer ecgsk?)")


def _restore_attributes(est, arrays, attributes):
    """Default ``_restore_persistent_state``: decode every node and set it in ``__dict__``."""
    source, _ = _LOADING.get()
    decoder = ValueDecoder(arrays, decode_object=_decode_object, source=source)
    requests = None
    for name, node in attributes.items():
        where = f"attribute {name!r}"
        if isinstance(node, dict) and node.get(TAG) == "metadata_request":
            requests = decoder.decode(decoder.field(node, "requests", dict, where), where)
            continue
        if isinstance(node, dict) and node.get(TAG) in ("module", "tensor"):
            decoder.fail(where, f"the file holds torch state but {type(est).__name__} is not a torch model")
        est.__dict__[name] = decoder.decode(node, where)
    if requests:
        _restore_metadata_requests(est, requests, decoder)


def _restore_metadata_requests(est, requests, decoder):
    from sklearn import config_context

    with config_context(enable_metadata_routing=True):
        for method, values in requests.items():
            setter = getattr(est, f"set_{method}_request", None)
            if not isinstance(values, dict):
                decoder.fail("attribute '_metadata_request'", f"bad requests for {method!r}")
            if values and setter is None:
                decoder.fail("attribute '_metadata_request'",
                             f"{type(est).__name__} has no set_{method}_request for the stored routing {values}")
            if values:
                setter(**values)


def _build_estimator(cls, param_nodes, attribute_nodes, arrays, source, where=None):
    decoder = ValueDecoder(arrays, decode_object=_decode_object, source=source)
    params = {}
    for name, node in param_nodes.items():
        if isinstance(node, dict) and node.get(TAG) == "unstored":
            warnings.warn(
                f"{source}: parameter {name!r} of {cls.__name__} was not stored (it was {node.get('repr')!r}); "
                "it gets its default value", UserWarning, stacklevel=4,
            )
            continue
        place = f"parameter {name!r}" if where is None else f"{where}, parameter {name!r}"
        params[name] = decoder.decode(node, place)
    try:
        est = cls(**params)
    except TypeError as exc:
        raise ModelFileError(f"{source}: {'' if where is None else where + ': '}{cls.__name__} does not accept the "
                             f"stored parameters ({exc}); was the file written by another version of the "
                             "model?") from exc
    if hasattr(est, "_restore_persistent_state"):
        try:
            est._restore_persistent_state(arrays, attribute_nodes)
        except ModelFileError as exc:
            if str(exc).startswith(source):
                raise
            raise ModelFileError(f"{source}: {'' if where is None else where + ': '}{exc}") from exc
    else:
        _restore_attributes(est, arrays, attribute_nodes)
    return est


def save_estimator(est, path):
    """Write ``est`` (an ecgsk estimator, an :class:`~ecgsk.pipeline.ECGPipeline` ...) to ``path``.

    The function behind ``est.save(path)``; see
    :meth:`ECGEstimatorMixin.save` and ``docs/persistence.md``.

    Parameters
    ----------
    est : scikit-learn estimator
    path : str or path-like

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from ecgsk.testing import GaussianECGGenerator
    >>> gen = GaussianECGGenerator().fit(np.zeros((2, 1, 4)))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     save_estimator(gen, os.path.join(d, "g.ecgsk"))
    ...     type(load_estimator(os.path.join(d, "g.ecgsk"))).__name__
    'GaussianECGGenerator'
    """
    cls = type(est)
    registered = registered_models()
    trusted = _trusted_for(cls, registered)
    arrays, attributes = _persistent_state_of(est, trusted)
    arrays = dict(arrays)
    params = _encode_params(est, trusted, arrays)
    name = registered_name(cls, registered)
    libraries = {}
    for module, dist in (("numpy", "numpy"), ("sklearn", "scikit-learn"), ("torch", "torch")):
        if module in sys.modules:
            libraries[dist] = str(getattr(sys.modules[module], "__version__", "unknown"))
    metadata = {
        "class": class_path(cls),
        "name": name,
        "kind": list(get_tags(est)["kind"]) if isinstance(est, ECGEstimatorMixin) else [],
        "libraries": libraries,
        "params": params,
        "attributes": attributes,
    }
    write_estimator_file(path, arrays, metadata)


def _all_subclasses(cls):
    seen, todo = [], [cls]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.append(sub)
                todo.append(sub)
    return seen


def _top_class(document, expected, registered, source):
    path, name = document["class"], document.get("name")
    if expected is not None:
        for candidate in [expected] + _all_subclasses(expected):
            if class_path(candidate) == path:
                return candidate
    try:
        cls = resolve_class(path, registered=registered, source=source)
    except ModelFileError as first:
        if isinstance(name, str) and name in registered:
            # a registered model whose class has moved since the file was written
            module, attr = registered[name]
            cls = resolve_class(f"{module}:{attr}", registered=registered, source=source)
        elif expected is not None:
            raise ModelFileError(f"{source}: the file holds a {path} (model name {name!r}), not a "
                                 f"{expected.__name__}") from first
        else:
            hint = f" (model name {name!r}, unknown here)" if name else ""
            raise ModelFileError(f"{first}{hint}") from first
    if expected is not None and not issubclass(cls, expected):
        raise ModelFileError(f"{source}: the file holds a {cls.__name__} ({path}), not a {expected.__name__}; "
                             "load it with ecgsk.load or that class's load")
    if not issubclass(cls, BaseEstimator):
        raise ModelFileError(f"{source}: the file's class {path} is not an estimator")
    return cls


def load_estimator(path, expected=None):
    """Read an estimator saved with :func:`save_estimator` (``est.save``).

    The function behind :func:`ecgsk.load` (``expected=None``: the class must
    be part of ecgsk or registered under the ``ecgsk.models`` entry-point
    group) and ``Cls.load`` (``expected=Cls``: the file must hold ``Cls`` or
    a subclass).  Nothing in the file is executed.

    Parameters
    ----------
    path : str or path-like
    expected : type, optional

    Returns
    -------
    estimator

    Raises
    ------
    ModelFileError
        For every way the file can be wrong; the message names it.
    """
    source = os.fspath(path)
    arrays, document = read_estimator_file(path)
    registered = registered_models()
    cls = _top_class(document, expected, registered, source)
    trusted = _trusted_for(cls, registered)
    token = _LOADING.set((source, trusted))
    try:
        return _build_estimator(cls, document["params"], document["attributes"], arrays, source)
    except ModelFileError:
        raise
    except Exception as exc:
        raise ModelFileError(f"{source}: cannot restore the {cls.__name__} it holds "
                             f"({type(exc).__name__}: {exc})") from exc
    finally:
        _LOADING.reset(token)
