"""The sequence tasks of ``fracneuron train`` (issue 14): sdigits, psdigits and the recall generator."""

from __future__ import annotations

import torch

from fracneuron.train import TrainConfig
from fracneuron.train import data as data_module
from fracneuron.train import recall


def test_recall_generator_is_a_function_of_its_seed():
    a, b = recall.make(64, 12, 4, seed=3), recall.make(64, 12, 4, seed=3)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    other = recall.make(64, 12, 4, seed=4)
    assert not torch.equal(a[0], other[0]) and not torch.equal(a[1], other[1])
    state = torch.get_rng_state()
    recall.make(8, 12, 4, seed=3)
    assert torch.equal(torch.get_rng_state(), state)  # the global generator is left alone


def test_recall_shows_the_cue_then_noise_then_go():
    delay, cues = 30, 5
    x, y = recall.make(200, delay, cues, seed=0)
    steps = recall.length(delay)
    assert steps == recall.CUE_STEPS + delay + recall.GO_STEPS and x.shape == (200, steps * (cues + 1))
    seq = x.reshape(200, steps, cues + 1)
    cue = seq[:, : recall.CUE_STEPS]
    assert torch.equal(cue[..., :cues].argmax(-1), y[:, None].expand(-1, recall.CUE_STEPS))
    assert torch.all(cue.sum(-1) == 1)  # one-hot, nothing on the go channel
    noise = seq[:, recall.CUE_STEPS : recall.CUE_STEPS + delay]
    assert torch.all(noise[..., cues] == 0) and abs(float(noise[..., :cues].mean())) < 0.02
    assert abs(float(noise[..., :cues].std()) - recall.NOISE) < 0.02
    go = seq[:, -recall.GO_STEPS :]
    assert torch.all(go[..., cues] == 1) and torch.all(go[..., :cues] == 0)
    assert torch.bincount(y, minlength=cues).tolist() == [40] * cues  # balanced


def test_recall_dataset_follows_delay_and_cues():
    config = TrainConfig(dataset="recall", delay=20, cues=3).validate()
    data = data_module.load("recall", config.steps, 32, 16, delay=20, cues=3)
    assert (config.steps, data.steps, data.inputs, data.classes) == (30, 30, 4, 3)
    seq = data.encode(data.x_train[:5])
    assert seq.shape == (30, 5, 4)
    assert torch.equal(seq[0, :, :3].argmax(-1), data.y_train[:5])
    # the split is fixed: train and test are different draws, the same in every run
    again = data_module.load("recall", 30, 32, 16, delay=20, cues=3)
    assert torch.equal(again.x_test, data.x_test) and not torch.equal(data.x_train[:16], data.x_test)


def test_sequential_digits_read_one_pixel_per_step():
    digits = data_module.load("digits", 16)
    sdigits = data_module.load("sdigits", 64)
    assert (sdigits.steps, sdigits.inputs, sdigits.encoding) == (64, 1, "direct")
    assert torch.equal(sdigits.x_train, digits.x_train) and torch.equal(sdigits.y_test, digits.y_test)
    seq = sdigits.encode(sdigits.x_train[:3])
    assert seq.shape == (64, 3, 1) and torch.equal(seq[:, 1, 0], sdigits.x_train[1])


def test_permuted_digits_use_one_fixed_permutation_whatever_the_seed():
    sdigits, psdigits = data_module.load("sdigits", 64), data_module.load("psdigits", 64)
    order = data_module.permutation()
    assert sorted(order.tolist()) == list(range(64)) and not torch.equal(order, torch.arange(64))
    assert torch.equal(psdigits.x_train, sdigits.x_train[:, order]) and torch.equal(psdigits.y_train, sdigits.y_train)
    torch.manual_seed(99)  # a run's seed does not move it
    assert torch.equal(data_module.permutation(), order)
    assert torch.equal(data_module.load("psdigits", 64).x_test, psdigits.x_test)
