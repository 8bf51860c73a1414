"""fracneuron adapter for snnTorch."""
