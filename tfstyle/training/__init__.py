"""Training a fast stylizer: the photos, the training settings, the training loop and its TensorBoard."""
