"""The network: VGG16's layer table, the feature model, its speed forms (precision, convolution form, XLA) and memory estimates."""
