"""fracneuron.train.data: the two offline datasets and their spike-ready sequences."""

from __future__ import annotations

import numpy as np
import torch

from fracneuron.train import data as data_module


def test_mnist1d_is_generated_locally_without_download(monkeypatch):
    import mnist1d.data
    import requests

    def no_network(*args, **kwargs):
        raise AssertionError("mnist1d tried to download")

    monkeypatch.setattr(requests, "get", no_network)
    monkeypatch.setattr(mnist1d.data, "get_dataset", no_network)
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first = data_module.load("mnist1d", 40)
    assert np.array_equal(np.random.get_state()[1], before)  # the global numpy generator is left alone
    assert (len(first.y_train), len(first.y_test)) == (4000, 1000)
    assert torch.bincount(first.y_train).min() >= 350 and abs(float(first.x_train.std()) - 1) < 0.05
    seq = first.encode(first.x_train[:5])
    assert seq.shape == (40, 5, 1)
    assert torch.equal(seq[:, 2, 0], first.x_train[2])  # step t carries sample value t


def test_digits_split_is_fixed_and_rate_coding_follows_the_pixels():
    a, b = data_module.load("digits", 200), data_module.load("digits", 200)
    assert torch.equal(a.x_train, b.x_train) and (len(a.y_train), len(a.y_test)) == (1437, 360)
    assert torch.bincount(a.y_test).min() >= 35  # stratified
    spikes = a.encode(a.x_train[:8], torch.Generator().manual_seed(0))
    assert spikes.shape == (200, 8, 64) and set(spikes.unique().tolist()) <= {0.0, 1.0}
    rate = spikes.mean(0)
    assert torch.allclose(rate, a.x_train[:8], atol=0.12)  # firing probability = pixel / 16
    assert torch.all(rate[a.x_train[:8] == 0] == 0)
