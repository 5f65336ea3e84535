"""Pipelines of ECG transformers ending in a generator, reconstructor or risk model."""

import numpy as np
from sklearn.pipeline import Pipeline, _name_estimators
from sklearn.utils.validation import check_memory

__all__ = ["ECGPipeline", "make_pipeline"]


class ECGPipeline(Pipeline):
    """A scikit-learn :class:`~sklearn.pipeline.Pipeline` that also samples and predicts risk.

    ``sample`` asks the final step for ECGs and maps them back through the
    ``inverse_transform`` of earlier steps, in reverse order, where one exists
    (for example an :class:`~ecgsk.preprocessing.AmplitudeScaler`), so samples
    come back in the units of the pipeline's input.

    Examples
    --------
    >>> from ecgsk.pipeline import make_pipeline
    >>> from ecgsk.preprocessing import BandpassFilter, LeadSelector  # doctest: +SKIP
    >>> pipe = make_pipeline(BandpassFilter(), LeadSelector(("I",)))  # doctest: +SKIP
    """

    def sample(self, n_samples=1, *, conditions=None, random_state=None):
        """Sample from the final step and invert the earlier steps where possible.

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

        ``params`` (such as ``conditions``) go to the final step.
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

    Examples
    --------
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> pipe = make_pipeline(FunctionTransformer())
    >>> type(pipe).__name__
    'ECGPipeline'
    """
    return ECGPipeline(_name_estimators(steps), memory=check_memory(memory) if memory else None, verbose=verbose)
