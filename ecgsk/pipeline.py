"""Pipelines of ECG transformers ending in a generator, reconstructor or risk model."""

import numpy as np
from sklearn.pipeline import Pipeline, _name_estimators
from sklearn.utils.validation import check_memory

from .base import load_estimator, save_estimator

__all__ = ["ECGPipeline", "make_pipeline"]


class ECGPipeline(Pipeline):
    """A scikit-learn :class:`~sklearn.pipeline.Pipeline` that also samples and predicts risk.

    ``sample`` asks the final step for ECGs and maps them back through the
    ``inverse_transform`` of earlier steps, in reverse order, where one exists
    (for example an :class:`~ecgsk.preprocessing.AmplitudeScaler`), so samples
    come back in the units of the pipeline's input.

    Parameters
    ----------
    steps : list of (str, estimator) tuples
        The steps, as for :class:`sklearn.pipeline.Pipeline`; the last may be
        an ecgsk generator, reconstructor or risk model.
    transform_input : list of str, optional
        Metadata names routed through the earlier steps' ``transform``
        (scikit-learn's ``Pipeline`` parameter; needs metadata routing).
    memory : str or object with the joblib.Memory interface, optional
        Caches the fitted transformers.
    verbose : bool, default=False
        Print the time each step takes to fit.

    Examples
    --------
    >>> from ecgsk.pipeline import make_pipeline
    >>> from ecgsk.preprocessing import BandpassFilter, LeadSelector  # doctest: +SKIP
    >>> pipe = make_pipeline(BandpassFilter(), LeadSelector(("I",)))  # doctest: +SKIP
    """

    def save(self, path):
        """Save the pipeline with every fitted step to one file (safetensors + JSON, no pickle).

        Each step is stored as ``est.save`` would store it on its own (see
        :meth:`ecgsk.base.ECGEstimatorMixin.save` and ``docs/persistence.md``);
        scikit-learn steps (a ``StandardScaler``, say) are stored from their
        parameters and fitted attributes in the same way.

        Parameters
        ----------
        path : str or path-like
            File to write.

        Examples
        --------
        >>> pipe.save("pipe.ecgsk")  # doctest: +SKIP
        >>> ECGPipeline.load("pipe.ecgsk").sample(2).shape  # doctest: +SKIP
        (2, 8, 5000)
        """
        save_estimator(self, path)

    @classmethod
    def load(cls, path):
        """Load a pipeline saved with :meth:`save` (also :func:`ecgsk.load`); nothing in the file is executed.

        Parameters
        ----------
        path : str or path-like
            File written by :meth:`save`.

        Returns
        -------
        ECGPipeline
            Fitted as it was saved.

        Raises
        ------
        ecgsk.exceptions.ModelFileError
            For a damaged or foreign file, or one that holds no pipeline.
        """
        return load_estimator(path, expected=cls)

    def sample(self, n_samples=1, *, conditions=None, random_state=None):
        """Sample from the final step and invert the earlier steps where possible.

        Parameters
        ----------
        n_samples : int, default=1
            Number of ECGs.
        conditions : DataFrame, dict or array-like, optional
            Per-sample covariates for a conditional final step (one row per
            ECG, or one subject's dict); passed only when given.
        random_state : int, RandomState or None, default=None
            Seed of this draw (see the final step's ``sample``).

        Returns
        -------
        ndarray of shape (n_samples, n_leads, n_timepoints)
        """
        final = self._final_estimator
        if not hasattr(final, "sample"):
            raise AttributeError(f"the final step {type(final).__name__} has no `sample` method")
        kwargs = {"random_state": random_state}
        if conditions is not None:
            kwargs["conditions"] = conditions
        Xt = final.sample(n_samples, **kwargs)
        for _, _, step in reversed(list(self._iter(with_final=False))):
            if hasattr(step, "inverse_transform"):
                Xt = step.inverse_transform(Xt)
        return np.asarray(Xt, dtype=np.float32)

    def predict_risk(self, X, **params):
        """Transform ``X`` through the earlier steps, then call the final ``predict_risk``.

        Parameters
        ----------
        X : array-like of shape (n_ecgs, n_leads, n_samples)
            ECGs in mV.
        **params
            Passed to the final step's ``predict_risk``, such as
            ``conditions``.

        Returns
        -------
        ndarray of shape (n_ecgs,)
            Risk scores; higher means an earlier event.
        """
        Xt = X
        for _, _, step in self._iter(with_final=False):
            Xt = step.transform(Xt)
        final = self._final_estimator
        if not hasattr(final, "predict_risk"):
            raise AttributeError(f"the final step {type(final).__name__} has no `predict_risk` method")
        return final.predict_risk(Xt, **params)


def make_pipeline(*steps, memory=None, verbose=False):
    """Build an :class:`ECGPipeline` from estimators, naming steps automatically.

    Parameters
    ----------
    *steps : estimators
        The steps, in order; each is named after its lowercased class name.
    memory : str or object with the joblib.Memory interface, optional
        Caches the fitted transformers.
    verbose : bool, default=False
        Print the time each step takes to fit.

    Returns
    -------
    ECGPipeline

    Examples
    --------
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> pipe = make_pipeline(FunctionTransformer())
    >>> type(pipe).__name__
    'ECGPipeline'
    """
    return ECGPipeline(_name_estimators(steps), memory=check_memory(memory) if memory else None, verbose=verbose)
