"""spikeDE's "Introduction by Example" workflow on scikit-learn's digits, with fracneuron.

A CNN and an MLP with ``LIFNeuron`` activations are wrapped by ``SNNWrapper`` (fractional order
α = 0.8, Grünwald–Letnikov, full memory) and trained on rate-coded 8×8 digits. Apart from the
import line below (spikeDE: ``from spikeDE import SNNWrapper, LIFNeuron``) and the dataset, this
is the seed's script: same model definitions, spike converter, time grid ``linspace(0, 1, T + 1)``,
``model(spikes, data_time, method="gl", options={"memory": -1})`` and ``output.mean(0)`` read-out.
(``_set_neuron_shapes`` is accepted but not needed: shapes are found on the first step.)

Run:  python examples/wrapper_digits.py [--epochs 8] [--steps 16] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn as nn
import torch.optim as optim
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

from fracneuron import LIFNeuron, SNNWrapper

TAU, THRESHOLD, SURROGATE_SCALE = 0.1, 1.0, 5.0
FRACTIONAL_ORDER = 0.8


class CNNExample(nn.Module):
    def __init__(self, tau, threshold, surrogate_grad_scale):
        super().__init__()
        self.conv = nn.Conv2d(1, 16, 3, padding=1)
        self.lif1 = LIFNeuron(tau, threshold, surrogate_grad_scale)
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()  # a module, not x.flatten(1): the wrapper then runs it layer by layer
        self.fc = nn.Linear(16 * 4 * 4, 10)
        self.lif2 = LIFNeuron(tau, threshold, surrogate_grad_scale)

    def forward(self, x):
        x = self.lif1(self.conv(x))
        x = self.flatten(self.pool(x))
        return self.lif2(self.fc(x))


class MLPExample(nn.Module):
    def __init__(self, tau, threshold, surrogate_grad_scale):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(8 * 8, 256, bias=False)
        self.lif1 = LIFNeuron(tau, threshold, surrogate_grad_scale)
        self.fc2 = nn.Linear(256, 10, bias=False)
        self.lif2 = LIFNeuron(tau, threshold, surrogate_grad_scale)

    def forward(self, x):
        x = self.flatten(x)
        x = self.lif1(self.fc1(x))
        return self.lif2(self.fc2(x))


def spike_converter(x, time_steps=100, flatten=False):
    """Bernoulli rate coding: [B, ...] intensities in [0, 1] -> [T, B, ...] spikes."""
    batch_size = x.size(0)
    if flatten:
        x = x.view(batch_size, -1)
        p = x.unsqueeze(1).repeat(1, time_steps, 1)
        return torch.bernoulli(p).permute(1, 0, 2)  # [T, B, N]
    p = x.unsqueeze(1).repeat(1, time_steps, 1, 1, 1)
    return torch.bernoulli(p).permute(1, 0, 2, 3, 4)  # [T, B, C, H, W]


def digits(batch_size: int, seed: int = 0):
    data = load_digits()
    images = torch.tensor(data.images / 16.0, dtype=torch.float32).unsqueeze(1)  # [N, 1, 8, 8] in [0, 1]
    labels = torch.tensor(data.target)
    x_train, x_test, y_train, y_test = train_test_split(images, labels, test_size=0.2, random_state=seed, stratify=labels)
    generator = torch.Generator().manual_seed(seed)
    train = DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True, generator=generator)
    test = DataLoader(TensorDataset(x_test, y_test), batch_size=256)
    return train, test


def run(name: str, base: nn.Module, epochs: int, time_steps: int, train_loader, test_loader) -> float:
    model = SNNWrapper(base, integrator="fdeint", alpha=FRACTIONAL_ORDER, multi_coefficient=None, learn_alpha=True, learn_coefficient=False)
    model._set_neuron_shapes(input_shape=(1, 8, 8))  # kept from the spikeDE script: a no-op here
    print(f"{name}: {model.path}")  # both networks are chains: each layer runs once per batch
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=2e-3)
    data_time = torch.linspace(0, 1.0, time_steps + 1)

    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        total_loss, correct, total = 0.0, 0, 0
        for data, target in train_loader:
            spike_input = spike_converter(data, time_steps) * 10
            optimizer.zero_grad()
            output = model(spike_input, data_time, method="gl", options={"memory": -1}).mean(0)
            loss = criterion(output, target)
            loss.backward()
            optimizer.step()
            total_loss += loss.item()
            correct += output.argmax(1).eq(target).sum().item()
            total += target.size(0)
        alphas = ", ".join(f"{float(a.detach()):.3f}" for a in model.get_per_layer_alpha())
        print(f"{name} epoch {epoch + 1}: loss={total_loss / len(train_loader):.4f} train acc={100.0 * correct / total:.1f}% alpha=[{alphas}]")

    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for data, target in test_loader:
            output = model(spike_converter(data, time_steps) * 10, data_time, method="gl", options={"memory": -1}).mean(0)
            correct += output.argmax(1).eq(target).sum().item()
            total += target.size(0)
    accuracy = 100.0 * correct / total
    print(f"{name}: test accuracy {accuracy:.2f}% ({time.perf_counter() - start:.1f} s)")
    return accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=16, help="time steps T of the rate code")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the models are tiny: more only add hand-offs)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_loader, test_loader = digits(args.batch_size, args.seed)
    for name, net in [("CNN", CNNExample), ("MLP", MLPExample)]:
        torch.manual_seed(args.seed)
        run(name, net(TAU, THRESHOLD, SURROGATE_SCALE), args.epochs, args.steps, train_loader, test_loader)


if __name__ == "__main__":
    main()
