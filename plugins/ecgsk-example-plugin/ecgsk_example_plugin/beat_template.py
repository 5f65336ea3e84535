"""A beat-template ECG generator: per-lead PCA on R-peak-aligned beats.

The model is deliberately small, but it is a real generative model of rhythm
strips.  Its signal processing is ecgsk's own, not a copy:

1. **R peaks.** :func:`ecgsk.preprocessing.detect_rpeaks` finds the QRS
   complexes of every training ECG (neurokit2's detector on each lead, the
   leads combined by voting and each beat placed at the multi-lead QRS
   magnitude maximum).
2. **Beats.** A window of ``before`` + ``after`` seconds around each R peak
   is cut from the signal after an :class:`ecgsk.preprocessing.BandpassFilter`
   high-pass (``highpass`` Hz) has removed baseline wander, giving an array of
   aligned beats.
3. **Shape model.** Each lead gets its own :class:`~sklearn.decomposition.PCA`.
   The per-lead PCA coefficients of one beat are concatenated, and a
   two-level Gaussian is fitted to them: a *between-record* Gaussian over each
   record's mean coefficients (what makes two people's ECGs differ) and a
   *within-record* Gaussian over the beat-to-beat residuals. Because the
   Gaussians are over all leads jointly, lead-to-lead structure (for example
   Einthoven's law, III = II - I) is kept.
4. **Rhythm model.** RR intervals are modelled on the log scale with the same
   two levels: a between-record Gaussian on each record's mean log RR and a
   within-record spread.
5. **Sampling.** A strip draws its record-level shape and heart rate, then
   places beats at RR intervals drawn from the fitted distribution, and
   overlap-adds them with raised-cosine cross-fades at the window edges.

The output is a float32 batch ``(n_samples, n_leads, length)`` in mV.

The class declares what ecgsk's mixin checks -- its ``tags`` and its
``parameter_constraints`` -- and holds no validation code of its own.

This module is the reference example for plugin authors; see
``docs/plugins.md`` in the ecgsk repository.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from threadpoolctl import threadpool_limits

from ecgsk.base import GeneratorMixin, Interval, Satisfies
from ecgsk.preprocessing import BandpassFilter, detect_rpeaks

__all__ = ["BeatTemplateGenerator"]

#: Physiological RR limits in seconds (240 and 24 beats per minute).
_RR_MIN, _RR_MAX = 0.25, 2.5


def _below_nyquist(value, params):
    """A cut-off in Hz strictly between 0 and fs / 2 (for ``highpass``)."""
    return (isinstance(value, Real) and not isinstance(value, bool)
            and 0 < value < float(params["fs"]) / 2)


def _sqrt_psd(cov):
    """A factor ``A`` with ``A @ A.T == cov`` for a symmetric PSD matrix (rank-deficient is fine)."""
    vals, vecs = np.linalg.eigh((cov + cov.T) / 2.0)
    return vecs * np.sqrt(np.clip(vals, 0.0, None))[None, :]


class BeatTemplateGenerator(GeneratorMixin, BaseEstimator):
    """Beat-template ECG generator: per-lead PCA of aligned beats, placed at sampled RR intervals.

    Parameters
    ----------
    n_components : int, default=5
        PCA components per lead (capped at the number of beats found minus one).
    fs : float, default=500
        Sampling rate of the ECGs in Hz; at least 100 (what
        :func:`ecgsk.preprocessing.detect_rpeaks` needs).
    before, after : float, default=0.25, 0.45
        Beat window around each R peak, in seconds.  The default spans the P
        wave to the end of the T wave at usual heart rates.
    length : int or None, default=None
        Length of generated strips in samples; ``None`` uses the training length.
    crossfade : float, default=0.05
        Duration in seconds of the raised-cosine fade at each end of a beat
        window; neighbouring beats cross-fade where their windows overlap.
    highpass : float or None, default=0.5
        Cut-off in Hz of the high-pass filter (an order-2 zero-phase
        :class:`ecgsk.preprocessing.BandpassFilter` with ``high=None``) that
        removes baseline wander before beats are cut out; ``None`` disables
        it.  Must lie below ``fs / 2``.
    n_leads : int or None, default=None
        Number of leads ``fit`` accepts; ``None`` accepts any.
    random_state : int, RandomState or None, default=None
        Seeds sampling (fitting itself is deterministic).

    Attributes
    ----------
    n_features_in_ : int
        Number of leads seen in ``fit``.
    n_timepoints_in_ : int
        Length of the training ECGs in samples.
    n_beats_ : int
        Number of beats used to fit the shape model.
    pca_ : list of sklearn.decomposition.PCA
        One fitted PCA per lead.
    mean_beat_ : ndarray of shape (n_leads, beat_length)
        Mean beat (mV) per lead.
    components_ : ndarray of shape (n_leads, n_components_, beat_length)
        Principal components per lead.
    coef_mean_ : ndarray of shape (n_leads * n_components_,)
        Mean of the record-level PCA coefficients.
    coef_between_factor_, coef_within_factor_ : ndarray of shape (d, d)
        Square-root factors of the between- and within-record coefficient
        covariances.
    rr_log_mean_, rr_log_between_std_, rr_log_within_std_ : float
        Log-RR model (RR in seconds).
    rr_range_ : tuple of float
        Smallest and largest RR interval seen, in seconds; sampled RR intervals
        are clipped to it.

    See Also
    --------
    ecgsk.preprocessing.detect_rpeaks : the R-peak detector used in ``fit``.
    ecgsk.preprocessing.BandpassFilter : the baseline-wander high-pass.

    Examples
    --------
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(8, n_leads=12, n_samples=2500, random_state=0)
    >>> model = BeatTemplateGenerator(n_components=3, random_state=0).fit(X)
    >>> strips = model.sample(4)
    >>> strips.shape, strips.dtype.name
    ((4, 12, 2500), 'float32')

    Discovered through its entry point once the plugin is installed:

    >>> import ecgsk
    >>> ecgsk.get_model("beat_template") is BeatTemplateGenerator  # doctest: +SKIP
    True
    """

    # -- declarations read by ecgsk's GeneratorMixin ------------------------------
    # The shortest ECG accepted.  A beat window is a few hundred samples, but its
    # length depends on fs, before and after; an ECG with no complete beat is
    # reported by _fit ("found 0 complete beat(s) ...").  100 samples is what the
    # filters' edge padding needs.
    tags = {"min_samples": 100}

    # Checked at the start of every fit; a bad value is a ValueError naming it.
    parameter_constraints = {
        "n_components": [Interval(Integral, 1, None)],
        "fs": [Interval(Real, 100, None)],
        "before": [Interval(Real, 0, None, closed="neither")],
        "after": [Interval(Real, 0, None, closed="neither")],
        "length": [None, Interval(Integral, 1, None)],
        "crossfade": [Interval(Real, 0, None)],
        "highpass": [None, Satisfies(_below_nyquist, "a cut-off in Hz between 0 and fs/2")],
        "n_leads": [None, Interval(Integral, 1, None)],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components=5,
        *,
        fs=500,
        before=0.25,
        after=0.45,
        length=None,
        crossfade=0.05,
        highpass=0.5,
        n_leads=None,
        random_state=None,
    ):
        # scikit-learn rule: __init__ only stores its parameters.
        self.n_components = n_components
        self.fs = fs
        self.before = before
        self.after = after
        self.length = length
        self.crossfade = crossfade
        self.highpass = highpass
        self.n_leads = n_leads
        self.random_state = random_state

    # -- the hooks ecgsk's GeneratorMixin calls -----------------------------------
    def _fit(self, X, y=None, *, rng):
        """Fit the shape and rhythm models; ``X`` is validated float32 (n, leads, T) in mV."""
        n_ecgs, n_leads, n_times = X.shape
        fs = float(self.fs)
        pre, post = self._window()
        clean = self._highpass(X)

        beats, beat_record, rec_log_rr, log_rr_resid, all_rr = [], [], [], [], []
        for i, peaks in enumerate(detect_rpeaks(X, fs)):
            rr = np.diff(peaks) / fs
            rr = rr[(rr >= _RR_MIN) & (rr <= _RR_MAX)]
            if len(rr):
                log_rr = np.log(rr)
                rec_log_rr.append(log_rr.mean())
                log_rr_resid.extend(log_rr - log_rr.mean())
                all_rr.extend(rr)
            for p in peaks[(peaks >= pre) & (peaks + post <= n_times)]:
                beats.append(clean[i, :, p - pre:p + post])
                beat_record.append(i)
        if len(beats) < 2:
            raise ValueError(
                f"found {len(beats)} complete beat(s) in X but at least 2 are needed: each ECG must be "
                f"longer than one beat window ({pre + post} samples at fs={self.fs}) and contain QRS complexes"
            )
        if not rec_log_rr:
            raise ValueError("no ECG in X has two consecutive R peaks, so no RR interval could be measured")

        # Shape model: one PCA per lead, then a two-level Gaussian on the coefficients.
        beats = np.stack(beats).astype(np.float64)  # (n_beats, leads, beat_length)
        beat_record = np.asarray(beat_record)
        k = int(min(self.n_components, len(beats) - 1, beats.shape[2]))
        # The SVDs are small (beats x window); BLAS threads only add overhead
        # here, and on a busy machine a lot of it.
        with threadpool_limits(limits=1, user_api="blas"):
            self.pca_ = [PCA(n_components=k, svd_solver="full").fit(beats[:, lead]) for lead in range(n_leads)]
        self.mean_beat_ = np.stack([p.mean_ for p in self.pca_])
        self.components_ = np.stack([p.components_ for p in self.pca_])
        coefs = np.concatenate([p.transform(beats[:, lead]) for lead, p in enumerate(self.pca_)], axis=1)

        records = np.unique(beat_record)
        rec_means = np.stack([coefs[beat_record == r].mean(axis=0) for r in records])
        resid = coefs - rec_means[np.searchsorted(records, beat_record)]
        d = coefs.shape[1]
        between = np.cov(rec_means, rowvar=False).reshape(d, d) if len(records) > 1 else np.zeros((d, d))
        dof = len(coefs) - len(records)
        within = resid.T @ resid / dof if dof > 0 else np.zeros((d, d))
        self.coef_mean_ = rec_means.mean(axis=0)
        self.coef_between_factor_ = _sqrt_psd(between)
        self.coef_within_factor_ = _sqrt_psd(within)

        # Rhythm model: log RR, between and within records.
        rec_log_rr = np.asarray(rec_log_rr)
        self.rr_log_mean_ = float(rec_log_rr.mean())
        self.rr_log_between_std_ = float(rec_log_rr.std(ddof=1)) if len(rec_log_rr) > 1 else 0.0
        self.rr_log_within_std_ = float(np.std(log_rr_resid)) if len(log_rr_resid) > 1 else 0.0
        self.rr_range_ = (float(np.min(all_rr)), float(np.max(all_rr)))
        self.n_components_ = k
        self.n_beats_ = len(beats)
        return self

    def _sample(self, n_samples, conditions, rng):
        """Generate ``n_samples`` strips of shape (n_leads, length) in mV."""
        n_leads, k = self.components_.shape[:2]
        n_times = int(self.length) if self.length is not None else int(self.n_timepoints_in_)
        fs = float(self.fs)
        pre, post = self._window()
        weights = self._crossfade_weights(pre + post)
        d = self.coef_mean_.shape[0]
        out = np.zeros((n_samples, n_leads, n_times))
        for i in range(n_samples):
            # Record level: this strip's "person" (beat shape) and heart rate.
            centre = self.coef_mean_ + self.coef_between_factor_ @ rng.standard_normal(d)
            log_rr = self.rr_log_mean_ + self.rr_log_between_std_ * rng.standard_normal()
            rr0 = float(np.clip(np.exp(log_rr), *self.rr_range_))
            acc = np.zeros((n_leads, n_times))
            wsum = np.zeros(n_times)
            # The first R peak falls anywhere in the first RR interval (before t=0 too).
            peak = (rng.uniform() - 1.0) * rr0 * fs
            while peak - pre < n_times:
                start = int(round(peak)) - pre
                if start + pre + post > 0:
                    c = centre + self.coef_within_factor_ @ rng.standard_normal(d)
                    beat = self.mean_beat_ + np.einsum("lk,lkt->lt", c.reshape(n_leads, k), self.components_)
                    lo, hi = max(start, 0), min(start + pre + post, n_times)
                    acc[:, lo:hi] += weights[lo - start:hi - start] * beat[:, lo - start:hi - start]
                    wsum[lo:hi] += weights[lo - start:hi - start]
                rr = np.exp(log_rr + self.rr_log_within_std_ * rng.standard_normal())
                peak += float(np.clip(rr, *self.rr_range_)) * fs
            # Overlap-add: normalised cross-fade where windows overlap, taper elsewhere.
            out[i] = acc / np.maximum(wsum, 1.0)[None, :]
        return out.astype(np.float32)

    # -- helpers ------------------------------------------------------------------
    def _window(self):
        """Samples before and after the R peak in a beat window."""
        fs = float(self.fs)
        return int(round(float(self.before) * fs)), int(round(float(self.after) * fs))

    def _crossfade_weights(self, n):
        fade = min(int(round(float(self.crossfade) * float(self.fs))), n // 2)
        w = np.ones(n)
        if fade > 0:
            ramp = 0.5 - 0.5 * np.cos(np.pi * (np.arange(fade) + 0.5) / fade)
            w[:fade] = ramp
            w[n - fade:] = ramp[::-1]
        return w

    def _highpass(self, X):
        """Remove baseline wander with ecgsk's zero-phase Butterworth high-pass."""
        if self.highpass is None:
            return np.asarray(X, dtype=np.float64)
        hp = BandpassFilter(low=float(self.highpass), high=None, order=2, fs=float(self.fs))
        return hp.fit_transform(X).astype(np.float64)

    # -- what ecgsk.testing.check_estimator uses -----------------------------------
    @classmethod
    def get_test_params(cls):
        """Small parameter sets that fit in well under a second on a CPU.

        Returns
        -------
        list of dict
        """
        return [
            {"n_components": 3, "random_state": 0},
            {"n_components": 2, "n_leads": 12, "length": 1500, "highpass": None, "random_state": 1},
        ]

    def get_test_data(self, n_ecgs=8, random_state=0):
        """Synthetic ECGs long enough for several beats each (4 s), and no fit parameters.

        The default of :class:`ecgsk.base.ECGEstimatorMixin` would give 1-s
        signals, which hold at most one complete beat.

        Returns
        -------
        X : ndarray of shape (n_ecgs, n_leads, 4 * fs)
        fit_params : dict
        """
        from ecgsk.datasets import make_synthetic_ecgs

        n_leads = 2 if self.n_leads is None else self.n_leads
        X = make_synthetic_ecgs(n_ecgs, n_leads=n_leads, fs=self.fs, n_samples=int(round(4.0 * self.fs)),
                                random_state=random_state)
        return X, {}
