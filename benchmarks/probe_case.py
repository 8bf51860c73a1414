"""A tiny benchmark case for the harness's own test: allocates ``mb`` MiB and touches it."""

import torch


def case(mb: int = 0, **_):
    def run():
        block = torch.ones(mb * 2**18)  # float32: mb MiB, every page written
        return {"sum": float(block[::4096].sum())}

    return run
