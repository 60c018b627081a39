"""Multi-process training (the torchrun / accelerate path) on CPU with gloo: two ranks of batch 1 follow the same
loss curve as one process of batch 2, and only rank 0 writes."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
from tests.helpers.vlm_data import write_export

from fourdpqa.params import TrainParams
from fourdpqa.train import DistInfo, read_conversations, train_model

TP = dict(tiny_hidden_size=32, tiny_layers=1, tiny_vision_depth=1, frames=2, image_size=28, max_train_samples=None,
          max_steps=4, lr=5e-3)


def _convs(export):
    # equal answers -> equal answer-token counts, so the mean of two batch-1 losses is the batch-2 loss
    return [replace(c, answer="yes") for c in read_conversations(export)]


def _worker(rank: int, world: int, port: int, export: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", rank=rank, world_size=world)
    try:
        res = train_model(_convs(export), TrainParams(**TP, batch_size=1), 0, torch.device("cpu"),
                          f"{out}/model", f"{out}/ck", dist_info=DistInfo(world, rank))
        if rank == 0:
            with open(f"{out}/losses.json", "w") as fh:
                json.dump(res.losses, fh)
        else:
            assert res.model_dir is None
    finally:
        torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_two_ranks_match_one_process_with_the_same_global_batch(tmp_path):
    export = write_export(tmp_path / "export")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_worker, args=(2, port, str(export), str(tmp_path)), nprocs=2, join=True)
    ddp = json.loads((tmp_path / "losses.json").read_text())
    single = train_model(_convs(export), TrainParams(**TP, batch_size=2), 0, torch.device("cpu"), None)
    np.testing.assert_allclose(ddp, single.losses, rtol=1e-4, atol=1e-5)
    assert (tmp_path / "model" / "config.json").is_file() and len(list((tmp_path / "ck").glob("step_*"))) == 1
