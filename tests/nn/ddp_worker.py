"""Fit every registered torch model at its tiny test size under torch.distributed, and dump what each rank holds.

Run by tests/nn/test_distributed.py as
``torchrun --standalone --nproc_per_node=2 tests/nn/ddp_worker.py OUT_DIR [MODEL ...]``.
Each rank writes ``OUT_DIR/<model>.rank<r>.npz`` (every module's state) and
``OUT_DIR/<model>.rank<r>.json`` (history, n_iter_, world size seen).

With ``--memmap`` (tests/nn/test_lazy_input.py) each model is fitted twice:
from the in-memory array and from a ``numpy.memmap`` of it (read per batch,
``num_workers=1`` DataLoader worker per rank), written as ``<model>.rank<r>``
and ``<model>.memmap.rank<r>``.
"""

import json
import os
import sys

import numpy as np


def _fit_and_dump(est, X, fit_params, out_dir, stem, rank):
    from ecgsk.nn import distributed as dist_utils

    fit_params = dict(fit_params)
    y = fit_params.pop("y", None)
    est.fit(X, y, **fit_params) if y is not None else est.fit(X, **fit_params)
    arrays = {f"{attr}/{key}": value.detach().cpu().numpy()
              for attr, module in vars(est).items() if hasattr(module, "state_dict") and attr.endswith("_")
              for key, value in module.state_dict().items()}
    np.savez(os.path.join(out_dir, f"{stem}.rank{rank}.npz"), **arrays)
    with open(os.path.join(out_dir, f"{stem}.rank{rank}.json"), "w") as fh:
        json.dump({"history": [{k: v for k, v in h.items() if k != "dur"} for h in est.history_],
                   "n_iter": est.n_iter_, "world_size": dist_utils.world_size()}, fh)  # joined during the fit


def main(out_dir, names):
    import torch.distributed as dist

    from ecgsk.nn.engine import TorchEstimatorMixin
    from ecgsk.registry import get_model, list_models

    memmap = "--memmap" in names
    names = [n for n in names if n != "--memmap"]
    rank = int(os.environ.get("RANK", "0"))
    names = names or [m["name"] for m in list_models() if issubclass(get_model(m["name"]), TorchEstimatorMixin)]
    for name in names:
        cls = get_model(name)
        params = dict(cls.get_test_params()[0])
        params.update(device="cpu", random_state=0, max_epochs=2)
        est = cls(**params)
        X, fit_params = est.get_test_data(n_ecgs=8, random_state=0)
        _fit_and_dump(est, X, fit_params, out_dir, name, rank)
        if memmap:
            from numpy.lib.format import open_memmap

            path = os.path.join(out_dir, f"{name}.x.rank{rank}.npy")  # each rank its own file: no race
            mm = open_memmap(path, mode="w+", dtype=np.float32, shape=X.shape)
            mm[:] = X
            mm.flush()
            del mm
            lazy = cls(**{**params, "num_workers": 1})
            _fit_and_dump(lazy, np.load(path, mmap_mode="r"), fit_params, out_dir, f"{name}.memmap", rank)
    if dist.is_initialized():
        dist.barrier()  # no rank tears gloo down while another still talks to it
        dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip interpreter teardown: a leftover C++ thread there aborts the process now and then
