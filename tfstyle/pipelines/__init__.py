"""For TensorFlow pipelines: SavedModel exports, a Keras style loss and TensorBoard logging."""
