"""The optimization loop: the update steps, ``stylize``, L-BFGS, coarse-to-fine, checkpoints and callbacks."""
