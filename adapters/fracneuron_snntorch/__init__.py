"""fracneuron adapter for snnTorch: fractional Leaky, Synaptic, Lapicque, RLeaky and RSynaptic.

    import snntorch as snn, fracneuron
    FracLeaky = fracneuron.fractional(snn.Leaky)            # native arguments + alpha, memory, ...
    lif = FracLeaky(beta=0.9, alpha=0.6)
    fracneuron.fractionalize(net, alpha=0.6)                # or swap every neuron of a model

Nothing here imports snnTorch until a class is generated (see :mod:`.neuron` for the step, the
new-sequence rule and the Synaptic history rule, :mod:`.supported_neurons` for what is supported).
"""
