"""``fracneuron train``: a (fractional) spiking network trained end to end on offline data.

    fracneuron train                                   # MNIST-1D, SpikingJelly, learned α
    fracneuron train --dataset digits --framework snntorch --alpha learn
    fracneuron train --dataset recall --delay 50 --tau 10 --lr 0.03 --clip 1   # a delayed cue
    torchrun --nproc_per_node=2 -m fracneuron train --ddp

In Python::

    from fracneuron.train import TrainConfig, train
    metrics = train(TrainConfig(dataset="digits", alpha="0.8", epochs=5))

Modules: :mod:`.config` (options and checks), :mod:`.data` (datasets, spike encoding),
:mod:`.recall` (the delayed-cue generator), :mod:`.layers` (the native neuron and recurrent layer,
the conv front end, the membrane readout), :mod:`.models` (the mlp, recurrent and conv networks in
SpikingJelly, snnTorch and native fracneuron),
:mod:`.loop` (training, evaluation, checkpoint/resume), :mod:`.distributed` (DDP),
:mod:`.plots`, :mod:`.report`, :mod:`.files` (atomic writes), :mod:`.runner` (one run end to
end), :mod:`.sweep` (the results table of ``docs/results.md``), :mod:`.delay_sweep` (its recall plot), :mod:`.cli`. Needs the ``train`` extra
(``pip install 'fracneuron[train]'``: tqdm, matplotlib, scikit-learn, mnist1d).
"""

from .config import ConfigError, TrainConfig
from .data import MissingDependency
from .runner import train

__all__ = ["TrainConfig", "ConfigError", "MissingDependency", "train"]
