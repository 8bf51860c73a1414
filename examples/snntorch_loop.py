"""An snnTorch tutorial network, made fractional with one line, trained on scikit-learn's digits.

The network is written exactly as in snnTorch's tutorials: two ``snn.Leaky`` layers, an explicit
``for step in range(num_steps)`` loop that passes ``mem`` back in, and rate-coded input from
``snntorch.spikegen.rate``. The only fracneuron line is

    fracneuron.fractionalize(net, alpha=alpha)

which gives every Leaky a Caputo derivative of order α (α = 1: the unchanged snnTorch neuron, bit
for bit). The 8×8 digits (1797 images, offline) are split 80/20; the loss is snnTorch's tutorial
loss (cross-entropy of the output membrane at every step), the prediction the most-spiking output.

    python examples/snntorch_loop.py                  # α = 1 and α = 0.6, 8 epochs each
    python examples/snntorch_loop.py --alphas 1 0.8 0.5 --epochs 8
"""

from __future__ import annotations

import argparse
import time

import snntorch as snn
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from snntorch import spikegen
from torch import nn

import fracneuron

num_inputs, num_hidden, num_outputs = 64, 128, 10
num_steps = 25
beta = 0.9


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(num_inputs, num_hidden)
        self.lif1 = snn.Leaky(beta=beta)
        self.fc2 = nn.Linear(num_hidden, num_outputs)
        self.lif2 = snn.Leaky(beta=beta)

    def forward(self, x):
        mem1 = self.lif1.init_leaky()  # a fresh mem: a new sequence (and a new fractional history)
        mem2 = self.lif2.init_leaky()
        spk2_rec, mem2_rec = [], []
        for step in range(num_steps):
            cur1 = self.fc1(x[step])
            spk1, mem1 = self.lif1(cur1, mem1)
            cur2 = self.fc2(spk1)
            spk2, mem2 = self.lif2(cur2, mem2)
            spk2_rec.append(spk2)
            mem2_rec.append(mem2)
        return torch.stack(spk2_rec), torch.stack(mem2_rec)


def load_data(seed: int):
    digits = load_digits()
    images = torch.tensor(digits.data / 16.0, dtype=torch.float32)  # pixel intensity = spike probability
    labels = torch.tensor(digits.target)
    return train_test_split(images, labels, test_size=0.2, random_state=seed, stratify=labels)


def batches(images, labels, batch_size, shuffle):
    order = torch.randperm(len(images)) if shuffle else torch.arange(len(images))
    for i in range(0, len(images), batch_size):
        idx = order[i : i + batch_size]
        yield spikegen.rate(images[idx], num_steps=num_steps), labels[idx]


def accuracy(net, images, labels) -> float:
    correct = 0
    with torch.no_grad():
        for data, targets in batches(images, labels, 256, shuffle=False):
            spk_rec, _ = net(data)
            correct += (spk_rec.sum(dim=0).argmax(dim=1) == targets).sum().item()
    return correct / len(images)


def train(alpha: float, epochs: int, seed: int) -> tuple[float, float]:
    torch.manual_seed(seed)
    x_train, x_test, y_train, y_test = load_data(seed)
    net = Net()
    fracneuron.fractionalize(net, alpha=alpha)
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3, betas=(0.9, 0.999))
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for epoch in range(epochs):
        for data, targets in batches(x_train, y_train, 64, shuffle=True):
            _, mem_rec = net(data)
            loss = torch.zeros(())
            for step in range(num_steps):
                loss += loss_fn(mem_rec[step], targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"  alpha={alpha:g} epoch {epoch + 1}: loss {loss.item():.3f}", flush=True)
    return accuracy(net, x_test, y_test), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alphas", type=float, nargs="+", default=[1.0, 0.6])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = []
    for alpha in args.alphas:
        acc, seconds = train(alpha, args.epochs, args.seed)
        results.append((alpha, acc, seconds))
    print("\nalpha  test accuracy  train time")
    for alpha, acc, seconds in results:
        print(f"{alpha:<6g} {acc:>12.1%}  {seconds:>9.1f} s")


if __name__ == "__main__":
    main()
