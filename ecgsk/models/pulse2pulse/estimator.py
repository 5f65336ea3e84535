"""The Pulse2Pulse estimator: WGAN-GP training, sampling in mV (per-ECG seeds), pretrained weights."""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator

from ...base import GeneratorMixin, Interval
from ...datasets.dataset import map_rows
from ...utils.constraints import TORCH_PARAMETER_CONSTRAINTS, Options, validate_params
from ...leads import derive_12_from_8
from ...nn.base import progress
from ...nn.engine import TorchEstimatorMixin
from ...nn.gan import generator_loss, wgan_gp_critic_loss
from .networks import MIN_LENGTH, SCALE_MV, SCALE_UV, TOTAL_STRIDE, Pulse2PulseCritic, Pulse2PulseGenerator
from .polyphase import polyphase_generator
from .pretrained import load_pretrained_generator, pretrained_checkpoint_path

__all__ = ["Pulse2PulseGAN"]

_SAMPLE_CONSTRAINTS = {"leads": [Options(8, 12)]}


def _to_network_units(X):
    """ECGs in mV to the network's units (microvolts / 6000), float32."""
    return (X / np.float32(SCALE_MV)).astype(np.float32)


class Pulse2PulseGAN(TorchEstimatorMixin, GeneratorMixin, BaseEstimator):
    """Pulse2Pulse ECG generator (WGAN-GP, U-Net generator, WaveGAN critic).

    ``fit`` takes ECGs in mV of shape ``(n_ecgs, n_leads, length)``; the
    network sees them divided by 6 (microvolts / 6000, as the original).
    ``sample`` returns mV.

    Parameters
    ----------
    model_size : int, default=50
        Width ``d`` of generator and critic (50 in the paper); at least 5.
    n_leads : int, default=8
        Leads (I, II, V1-V6 for the pretrained model).
    length : int, default=5000
        Samples per ECG, at least 703 (what the critic's strided convolutions
        need).  The generator works on the next multiple of 2500 (its total
        stride) and returns the first ``length`` samples.
    fs : float, default=500
        Sampling rate in Hz (metadata; used by ``score``).
    n_critic : int, default=5
        Critic updates per generator update.
    gp_weight : float, default=10.0
        Gradient-penalty coefficient lambda.
    lr : float, default=1e-4
        Adam learning rate (betas 0.5, 0.9) of both networks.
    batch_size : int, default=32
        Training minibatch size.
    max_epochs : int, default=100
        Passes over the training data; each minibatch is one critic update,
        and every ``n_critic``-th of them is followed by a generator update.
    device : {"auto", "cpu", "cuda"}, default="auto"
    random_state : int, RandomState or None
    verbose : int, default=0
        Show a progress bar over epochs.
    warm_start : bool, default=False
        Continue training the fitted networks instead of starting afresh
        (also from :meth:`from_pretrained` weights: a fresh critic is built).
    callbacks : list of ecgsk.nn.callbacks.Callback, optional
        E.g. ``[EMA(), Checkpoint("p2p.safetensors", every=10)]``.
    precision : {"32", "bf16"}, default="32"
        ``"bf16"`` trains under bfloat16 autocast where the device supports it.
    gradient_clip : float, optional
        Clip each optimizer step's gradients to this total norm.
    num_workers : int, default=0
        DataLoader worker processes that read the training batches when
        ``fit`` gets a memory-mapped array or an
        :class:`~ecgsk.datasets.ECGDataset` (0 reads them in the main
        process; in-memory input never uses workers).  The fit is the same
        for every value.

    Attributes
    ----------
    generator_ : Pulse2PulseGenerator
    critic_ : Pulse2PulseCritic or None
        ``None`` after :meth:`from_pretrained` (no critic is shipped).
    history_ : list of dict
        One record per epoch: ``epoch``, ``dur`` (seconds),
        ``critic_loss``, ``wasserstein`` (mean of ``D(real) - D(fake)``) and,
        when the epoch had a generator update, ``generator_loss``.
    n_iter_ : int
        Epochs trained (warm starts add to it).
    n_features_in_ : int
        Number of leads.

    Examples
    --------
    >>> import numpy as np
    >>> from ecgsk.datasets import make_synthetic_ecgs
    >>> X = make_synthetic_ecgs(8, n_leads=8, n_samples=2500, random_state=0)
    >>> gan = Pulse2PulseGAN(model_size=5, length=2500, max_epochs=2, n_critic=1,
    ...                      device="cpu", random_state=0).fit(X)
    >>> gan.sample(3).shape
    (3, 8, 2500)
    >>> gan.sample(2, leads=12).shape
    (2, 12, 2500)
    """

    tags = {"n_leads": 8, "fixed_length_param": "length", "python_dependencies": ("torch",), "lazy_input": True}
    parameter_constraints = {
        **{k: v for k, v in TORCH_PARAMETER_CONSTRAINTS.items() if k != "betas"},
        "model_size": [Interval(Integral, 5, None)],  # channels d/5 and d/2 must be >= 1
        "n_leads": [Interval(Integral, 1, None)],
        "length": [Interval(Integral, MIN_LENGTH, None)],  # the critic's convolutions need this many samples
        "fs": [Interval(Real, 0, None, closed="neither")],
        "n_critic": [Interval(Integral, 1, None)],
        "gp_weight": [Interval(Real, 0, None)],
        "num_workers": [Interval(Integral, 0, None)],
    }
    _inference_batch = 128

    def __init__(
        self,
        model_size=50,
        n_leads=8,
        length=5000,
        fs=500,
        n_critic=5,
        gp_weight=10.0,
        lr=1e-4,
        batch_size=32,
        max_epochs=100,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        callbacks=None,
        precision="32",
        gradient_clip=None,
        num_workers=0,
    ):
        self.model_size = model_size
        self.n_leads = n_leads
        self.length = length
        self.fs = fs
        self.n_critic = n_critic
        self.gp_weight = gp_weight
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.precision = precision
        self.gradient_clip = gradient_clip
        self.num_workers = num_workers

    @classmethod
    def get_test_params(cls):
        """Tiny configurations that fit in about a second on a CPU."""
        return [
            {"model_size": 5, "length": 2500, "max_epochs": 1, "n_critic": 1, "batch_size": 4, "device": "cpu",
             "random_state": 0},
        ]

    # -- engine hooks -----------------------------------------------------------------
    @property
    def _net_length(self):
        return TOTAL_STRIDE * math.ceil(int(self.length) / TOTAL_STRIDE)

    def _training_data(self, X, y=None, *, reset=True):
        # the network works in microvolts / 6000; a memmap or ECGDataset is scaled batch by batch as it is read
        return {"X": map_rows(X, _to_network_units)}

    def _build_modules(self):
        return {"generator_": Pulse2PulseGenerator(self.model_size, self.n_leads),
                "critic_": Pulse2PulseCritic(self.model_size, self.n_leads, self.length)}

    def _configure_optimizers(self):
        return {"generator": torch.optim.Adam(self.generator_.parameters(), lr=self.lr, betas=(0.5, 0.9)),
                "critic": torch.optim.Adam(self.critic_.parameters(), lr=self.lr, betas=(0.5, 0.9))}

    def _can_warm_start(self, X):
        # also continues from pretrained weights, which come without a critic (the engine builds it)
        return getattr(self, "n_timepoints_in_", None) == X.shape[2] and self.generator_.n_channels == X.shape[1]

    def _noise(self, n, device):
        return torch.rand(n, self.n_leads, self._net_length, device=device) * 2 - 1

    def _training_step(self, batch, ctx):
        """One critic update per minibatch; one generator update every ``n_critic`` of them."""
        real = batch["X"]
        generator, critic = ctx.modules["generator_"], ctx.modules["critic_"]
        with torch.no_grad():
            fake = self.generator_(self._noise(len(real), ctx.device))[..., : self.length]
        loss, w_est = wgan_gp_critic_loss(critic, real, fake, gp_weight=self.gp_weight)
        ctx.optimizer_step("critic", loss)
        logs = {"critic_loss": loss.item(), "wasserstein": float(w_est)}
        if (ctx.global_step + 1) % int(self.n_critic) == 0:
            with ctx.frozen("critic_"):
                fake = generator(self._noise(len(real), ctx.device))[..., : self.length]
                g_loss = generator_loss(self.critic_(fake))
                ctx.optimizer_step("generator", g_loss)
            logs["generator_loss"] = g_loss.item()
        return logs

    # -- sampling -------------------------------------------------------------------
    #: ECGs per forward pass, by device type.  Every pass has exactly this shape
    #: (short blocks are padded with zero noise), so an ECG's output never
    #: depends on the batch size or on which other ECGs share its pass.
    _micro_batch = {"cpu": 32, "cuda": 128}

    def _ecg_noise(self, seeds):
        """U(-1, 1) float32 noise ``(micro_batch, leads, net_length)``; row ``j`` from ``seeds[j]``, the rest 0."""
        device = self._torch_device()
        size = self._micro_batch.get(device.type, self._micro_batch["cuda"])
        shape = (self.n_features_in_, self._net_length)
        noise = np.zeros((size,) + shape, dtype=np.float32)
        for j, seed in enumerate(seeds):
            row = np.random.default_rng(seed).random(shape, dtype=np.float32)
            row *= 2
            row -= 1
            noise[j] = row
        return noise

    def _seeded_raw_batches(self, seeds, batch_size=None, *, fast=True):
        """Yield raw network output (float32 NumPy, ``(b, leads, length)``) for per-ECG seeds.

        The network runs on fixed-shape blocks of ``_micro_batch`` ECGs.  On
        the CPU each block runs on one intra-op thread, and
        ``torch.get_num_threads()`` blocks run at once on worker threads: CPU
        convolutions round differently for other batch shapes and thread
        counts, so this keeps every ECG's bytes independent of the batch size,
        the sharding and the machine's thread settings (``torchrun`` sets
        ``OMP_NUM_THREADS=1``).
        """
        device = self._torch_device()
        batch_size = int(batch_size or self._inference_batch)
        size = self._micro_batch.get(device.type, self._micro_batch["cuda"])
        net = self.generator_.to(device).eval()
        if fast:
            net = polyphase_generator(net)
        blocks = [seeds[i:i + size] for i in range(0, len(seeds), size)]

        def run(block, noise=None):
            if device.type == "cpu":
                torch.set_num_threads(1)  # this worker thread only (OpenMP and MKL settings are per thread)
            noise = torch.from_numpy(self._ecg_noise(block) if noise is None else noise).to(device)
            with torch.inference_mode():
                out = net(noise)[: len(block), :, : self.length]
            return out.to("cpu", torch.float32).numpy()

        workers = torch.get_num_threads() if device.type == "cpu" else 0
        if workers <= 1:  # one network thread: the next blocks' noise is drawn meanwhile on a helper thread
            noises = _ordered_map(self._ecg_noise, blocks, workers=1, depth=2)
            outputs = (run(block, noise) for block, noise in zip(blocks, noises))
        else:
            outputs = _ordered_map(run, blocks, workers)
        pending = []
        for out in outputs:
            pending.append(out)
            n_pending = sum(len(o) for o in pending)
            while n_pending >= batch_size:
                joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
                yield joined[:batch_size]
                pending = [joined[batch_size:]] if len(joined) > batch_size else []
                n_pending -= batch_size
        if pending:
            yield np.concatenate(pending) if len(pending) > 1 else pending[0]

    def _raw_batches(self, n_samples, rng, batch_size=None, *, fast=True):
        """Yield batches of the raw network output (float32 tensors on the CPU) for ECGs ``0..n_samples-1``.

        The base seed is one integer drawn from ``rng``; ECG ``i``'s noise comes
        from its own seed, as in :meth:`sample_ids`.
        """
        seeds = self._ecg_seeds(range(n_samples), self._base_seed(rng))
        for raw in self._seeded_raw_batches(seeds, batch_size, fast=fast):
            yield torch.from_numpy(raw)

    def _sample_seeded_batches(self, seeds, conditions, batch_size):
        yield from self._seeded_raw_batches(seeds, batch_size)

    def _sample_batches(self, n_samples, conditions, rng, batch_size):
        # per-ECG seeds: the ECGs do not depend on batch_size
        seeds = self._ecg_seeds(range(n_samples), self._base_seed(rng))
        yield from self._seeded_raw_batches(seeds, batch_size)

    def _raw_to_mv(self, raw):
        return np.asarray(raw, dtype=np.float32) * np.float32(SCALE_MV)

    def _raw_to_microvolts(self, raw):
        # deepfake-ecg writes int(output * 6000), truncated toward zero; so does the float32 -> int32 cast
        # (finite values, |output| <= 1: the caller has checked them)
        return np.multiply(raw, np.float32(SCALE_UV), dtype=np.float32).astype(np.int32)

    def _sample(self, n_samples, conditions, rng):
        out = np.empty((n_samples, self.n_features_in_, int(self.length)), dtype=np.float32)
        start = 0
        with progress(total=n_samples, desc="sample", verbose=self.verbose) as bar:
            # whole forward blocks: no joining copies before the copy into `out`
            block = self._micro_batch.get(self._torch_device().type, self._micro_batch["cuda"])
            for batch in self._sample_batches(n_samples, conditions, rng, block):
                b = len(batch)
                np.multiply(batch, np.float32(SCALE_MV), out=out[start:start + b])
                start += b
                bar.update(b)
        return out

    def sample(self, n_samples=1, *, conditions=None, random_state=None, leads=8):
        """Generate ECGs in mV.

        Parameters
        ----------
        n_samples : int, default=1
        conditions : None
            Pulse2Pulse is unconditional.
        random_state : int, RandomState or None
            ``None`` draws from the estimator's own stream.
        leads : {8, 12}, default=8
            8: the generated leads I, II, V1-V6.  12: all twelve, with III,
            aVR, aVL and aVF derived by :func:`ecgsk.leads.derive_12_from_8`.

        Returns
        -------
        ndarray of float32, shape (n_samples, leads, length)

        Examples
        --------
        >>> gan = Pulse2PulseGAN.from_pretrained()  # doctest: +SKIP
        >>> gan.sample(2, leads=12, random_state=0).shape  # doctest: +SKIP
        (2, 12, 5000)
        """
        validate_params({"leads": leads}, _SAMPLE_CONSTRAINTS, owner="Pulse2PulseGAN.sample")
        X = super().sample(n_samples, conditions=conditions, random_state=random_state)
        # derive_12_from_8 itself refuses a model of other leads than I, II, V1-V6
        return derive_12_from_8(X) if leads == 12 else X

    # -- pretrained weights -----------------------------------------------------------
    @classmethod
    def from_pretrained(cls, path=None, device="cpu"):
        """The trained Pulse2Pulse generator of deepfake-ecg, as a fitted estimator.

        Parameters
        ----------
        path : str or path-like, optional
            A checkpoint ``{"stat_dict": state_dict}`` in deepfake-ecg's layout.
            Default: the one shipped with the installed deepfake-ecg
            (``pip install ecgsk[pretrained]``).  Models trained with ecgsk
            are saved with ``est.save(path)`` and read with ``ecgsk.load(path)``.
            The converted weights are cached (see
            :func:`~ecgsk.models.pulse2pulse.pretrained.load_pretrained_generator`;
            ``ECGSK_CACHE=off`` switches the cache off): a load then takes
            about 0.01 s instead of 0.4-1 s, and changes no output.
        device : {"cpu", "cuda", "auto"}, default="cpu"

        Returns
        -------
        Pulse2PulseGAN
            Fitted (``n_features_in_ == 8``, length 5000 at 500 Hz), without a
            critic.  Tensors of the checkpoint that the forward pass never uses
            (``fc1``, six ``Conv1dTrans`` layers, ``ppfilter1``) are skipped.

        Raises
        ------
        ImportError
            With no ``path`` and no deepfake-ecg installed.
        ecgsk.exceptions.ModelFileError
            For an empty, truncated or non-torch file, a file that is not a
            generator checkpoint, or missing, unexpected or wrong-shaped
            tensors; the message names the file.

        Examples
        --------
        >>> gan = Pulse2PulseGAN.from_pretrained()  # doctest: +SKIP
        >>> gan.sample(1, random_state=0).shape  # doctest: +SKIP
        (1, 8, 5000)
        """
        if path is None:
            path = pretrained_checkpoint_path()
        # converted once, then read from the weights cache (pretrained.load_pretrained_generator)
        gen, skipped = load_pretrained_generator(path)
        n_leads = gen.n_channels
        est = cls(model_size=gen.model_size, n_leads=n_leads, length=5000, fs=500, device=device)
        dev = est._reset_device()
        est.generator_ = gen.to(dev).eval()
        est.critic_ = None
        est.skipped_keys_ = skipped
        est.history_ = []
        est.n_iter_ = 0
        est.n_features_in_ = n_leads
        est.n_timepoints_in_ = 5000
        est._start_rngs()
        return est


def _ordered_map(func, items, workers, depth=None):
    """``map(func, items)`` in order, on ``workers`` helper threads, computed up to ``depth`` items ahead
    (default ``2 * workers``); inline for no worker or a single item."""
    if workers < 1 or len(items) <= 1:
        for item in items:
            yield func(item)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    depth = 2 * workers if depth is None else depth
    saved = torch.get_num_threads()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ecgsk-sample")
    futures = deque()
    try:
        for item in items:
            futures.append(pool.submit(func, item))
            if len(futures) > depth:
                yield futures.popleft().result()
        while futures:
            yield futures.popleft().result()
    finally:
        for f in futures:
            f.cancel()
        pool.shutdown(wait=True)
        torch.set_num_threads(saved)  # the workers' set_num_threads(1) also set the default for new threads
