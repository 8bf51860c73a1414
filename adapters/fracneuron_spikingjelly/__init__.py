"""fracneuron adapter for SpikingJelly (``spikingjelly.activation_based``)."""
