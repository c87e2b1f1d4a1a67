"""The objective: the loss functions and the image → losses objectives (whole image, tiled)."""
