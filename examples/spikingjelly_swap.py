"""An ordinary SpikingJelly conv SNN, made fractional with one ``fracneuron.fractionalize`` call.

The network is written the way SpikingJelly's tutorials write them (``conv_fashion_mnist.py``,
``lif_fc_mnist.py``): ``layer.Conv2d`` / ``layer.BatchNorm2d`` / ``neuron.LIFNode`` in multi-step
mode, Poisson-encoded input, firing rate against the one-hot label with MSE, and
``functional.reset_net`` after every batch. It is trained on scikit-learn's 8x8 digits (ships
offline) once per α, from the same initial weights:

    python examples/spikingjelly_swap.py                    # α = 1 and α = 0.6, 4 epochs
    python examples/spikingjelly_swap.py --alphas 1 0.8 0.5 --epochs 6 --learn-alpha

α = 1 is the native network bit for bit; α < 1 gives every LIF node a power-law memory.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from spikingjelly.activation_based import encoding, functional, layer, neuron, surrogate
from torch import nn

import fracneuron


class DigitsCSNN(nn.Module):
    """conv(16) → LIF → pool → conv(32) → LIF → pool → fc(10) → LIF, for 1x8x8 images."""

    def __init__(self, channels: int = 16, tau: float = 2.0):
        super().__init__()
        lif = dict(tau=tau, surrogate_function=surrogate.ATan(), detach_reset=True)
        self.conv_fc = nn.Sequential(
            layer.Conv2d(1, channels, kernel_size=3, padding=1, bias=False),
            layer.BatchNorm2d(channels),
            neuron.LIFNode(**lif),
            layer.MaxPool2d(2, 2),  # 4x4
            layer.Conv2d(channels, 2 * channels, kernel_size=3, padding=1, bias=False),
            layer.BatchNorm2d(2 * channels),
            neuron.LIFNode(**lif),
            layer.MaxPool2d(2, 2),  # 2x2
            layer.Flatten(),
            layer.Linear(2 * channels * 4, 10, bias=False),
            neuron.LIFNode(**lif),
        )
        functional.set_step_mode(self, step_mode="m")

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        """x_seq [T, B, 1, 8, 8] spikes -> firing rate [B, 10]."""
        return self.conv_fc(x_seq).mean(0)


def digits(seed: int = 0):
    data = load_digits()
    images = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16.0  # [1797, 1, 8, 8] in [0, 1]
    labels = torch.tensor(data.target)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    split = int(0.8 * len(labels))
    return (images[order[:split]], labels[order[:split]]), (images[order[split:]], labels[order[split:]])


def evaluate(net, encoder, images, labels, T, batch_size):
    net.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(labels), batch_size):
            img, label = images[start : start + batch_size], labels[start : start + batch_size]
            rate = net(torch.stack([encoder(img) for _ in range(T)]))
            correct += (rate.argmax(1) == label).sum().item()
            functional.reset_net(net)
    return correct / len(labels)


def train(net, args, train_set, test_set):
    torch.manual_seed(args.seed)  # same Poisson draws and batches for every α
    encoder = encoding.PoissonEncoder()
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)
    images, labels = train_set
    for epoch in range(args.epochs):
        net.train()
        order = torch.randperm(len(labels))
        for start in range(0, len(labels), args.batch_size):
            index = order[start : start + args.batch_size]
            img, label = images[index], labels[index]
            x_seq = torch.stack([encoder(img) for _ in range(args.T)])  # [T, B, 1, 8, 8]
            rate = net(x_seq)
            loss = F.mse_loss(rate, F.one_hot(label, 10).float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            functional.reset_net(net)
        accuracy = evaluate(net, encoder, *test_set, args.T, args.batch_size)
        print(f"  epoch {epoch + 1}: loss {loss.item():.4f}, test accuracy {accuracy:.3f}", flush=True)
    return accuracy


def main(argv=None) -> dict[float, float]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alphas", type=float, nargs="+", default=[1.0, 0.6], help="orders to train (0 < α ≤ 1)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("-T", type=int, default=8, help="time steps per sample")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--memory", default="exact", help="fracneuron memory engine")
    parser.add_argument("--learn-alpha", action="store_true", help="train α with the weights")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    train_set, test_set = digits(args.seed)
    torch.manual_seed(args.seed)
    initial = DigitsCSNN()
    results = {}
    for alpha in args.alphas:
        net = copy.deepcopy(initial)
        # The one line that makes the SpikingJelly model fractional:
        fracneuron.fractionalize(net, alpha=alpha, memory=args.memory, learn_alpha=args.learn_alpha)
        print(f"alpha = {alpha}:", flush=True)
        start = time.perf_counter()
        results[alpha] = train(net, args, train_set, test_set)
        learned = ""
        if args.learn_alpha:
            values = [m.memory.alpha.item() for m in net.modules() if isinstance(m, neuron.LIFNode)]
            learned = ", learned alphas " + " ".join(f"{a:.3f}" for a in values)
        print(f"  alpha = {alpha}: test accuracy {results[alpha]:.3f} ({time.perf_counter() - start:.1f} s{learned})")
    return results


if __name__ == "__main__":
    main()
