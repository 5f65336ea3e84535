"""torch.distributed: every torch model trains under ``torchrun`` (2 processes, gloo, CPU) to identical ranks.

One torchrun launch fits every registered torch model at its tiny test size
(tests/nn/ddp_worker.py); the tests compare what the two ranks hold.  The
single-process helpers are tested directly.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ecgsk.nn import distributed as dist_utils
from ecgsk.nn.engine import TorchEstimatorMixin
from ecgsk.registry import get_model, list_models

WORKER = Path(__file__).with_name("ddp_worker.py")
TORCH_MODELS = [m["name"] for m in list_models()
                if m["distribution"] == "ecgsk" and issubclass(get_model(m["name"]), TorchEstimatorMixin)]


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    torchrun = shutil.which("torchrun")
    assert torchrun, "torchrun comes with torch; it must be on PATH"
    out = tmp_path_factory.mktemp("ddp")
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR",
                                                            "MASTER_PORT")}
    env["CUDA_VISIBLE_DEVICES"] = ""
    result = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node=2", str(WORKER), str(out), *TORCH_MODELS],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return out


def test_every_torch_model_is_covered():
    assert {"pulse2pulse", "ekgan", "pix2pix"} <= set(TORCH_MODELS)


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_ranks_end_with_identical_weights_and_history(ddp_run, name):
    ranks = [np.load(ddp_run / f"{name}.rank{r}.npz") for r in (0, 1)]
    logs = [json.loads((ddp_run / f"{name}.rank{r}.json").read_text()) for r in (0, 1)]
    assert logs[0]["world_size"] == 2  # the engine joined the process group
    assert ranks[0].files == ranks[1].files and ranks[0].files
    for key in ranks[0].files:
        np.testing.assert_array_equal(ranks[0][key], ranks[1][key], err_msg=f"{name}: {key} differs between ranks")
        assert np.isfinite(ranks[0][key]).all(), key
    # logged losses are averaged across ranks, so both ranks log the same numbers
    assert logs[0]["history"] == logs[1]["history"]
    assert logs[0]["n_iter"] == 2 and [h["epoch"] for h in logs[0]["history"]] == [1, 2]
    losses = [v for h in logs[0]["history"] for k, v in h.items() if k not in ("epoch", "partial")]
    assert losses and np.isfinite(losses).all()


def test_without_a_launcher_the_helpers_are_single_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert dist_utils.launched_world_size() == 1
    assert not dist_utils.is_distributed()
    assert (dist_utils.rank(), dist_utils.world_size()) == (0, 1)
    assert dist_utils.broadcast_ints([3, 4]) == [3, 4]
    assert dist_utils.all_reduce_sums([1.5]) == [1.5]
    t = torch.ones(2, requires_grad=True)
    assert dist_utils.all_gather_with_grad(t) is t
    assert dist_utils.init_distributed(torch.device("cpu")) == torch.device("cpu")


def test_launched_world_size_reads_the_launcher(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert dist_utils.launched_world_size() == 4
    monkeypatch.setenv("WORLD_SIZE", "junk")
    assert dist_utils.launched_world_size() == 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
