"""The peer for ``python -m tools.bench``: the optimization loop of TensorFlow's "Neural style transfer" tutorial.

https://www.tensorflow.org/tutorials/generative/style_transfer, as written there, except that the
network is VGG16 (the tutorial uses VGG19) with the layers of the tfstyle preset it is compared
with, and the images are the ones tfstyle prepares (the same size), so the two compare like with
like. Everything else is the tutorial's: the image in [0, 1], starting at the content;
``gram = einsum / positions``; style loss ``1e-2 / n_style · Σ mean((G − A)²)``; content loss
``1e4 / n_content · Σ mean((F − P)²)``; ``30 · tf.image.total_variation``; Adam (lr 0.02,
beta_1 0.99, epsilon 0.1); one ``tf.function`` step that applies the gradient and clips to [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

STYLE_WEIGHT = 1e-2
CONTENT_WEIGHT = 1e4
TOTAL_VARIATION_WEIGHT = 30


def vgg_layers(layer_names: Sequence[str], weights: str) -> keras.Model:
    """The tutorial's ``vgg_layers`` on VGG16: a model from preprocessed images to the layers' outputs.
    ``weights``: a weights file, ``"imagenet"`` (keras' download) or ``"random"`` (keras' initializers)."""
    vgg = keras.applications.VGG16(include_top=False, weights=None if weights == "random" else weights)
    vgg.trainable = False
    outputs = [vgg.get_layer(name).output for name in layer_names]
    return keras.Model([vgg.input], outputs)


def gram_matrix(input_tensor: tf.Tensor) -> tf.Tensor:
    result = tf.linalg.einsum("bijc,bijd->bcd", input_tensor, input_tensor)
    input_shape = tf.shape(input_tensor)
    num_locations = tf.cast(input_shape[1] * input_shape[2], tf.float32)
    return result / num_locations


class StyleContentModel(keras.Model):
    """The tutorial's extractor: float images in [0, 1] → {'content': {...}, 'style': {name: Gram}}."""

    def __init__(self, style_layers: Sequence[str], content_layers: Sequence[str], weights: str):
        super().__init__()
        self.vgg = vgg_layers(list(style_layers) + list(content_layers), weights)
        self.style_layers = list(style_layers)
        self.content_layers = list(content_layers)
        self.num_style_layers = len(style_layers)
        self.vgg.trainable = False

    def call(self, inputs):
        inputs = inputs * 255.0
        preprocessed_input = keras.applications.vgg16.preprocess_input(inputs)
        outputs = self.vgg(preprocessed_input)
        style_outputs, content_outputs = outputs[: self.num_style_layers], outputs[self.num_style_layers :]
        style_outputs = [gram_matrix(style_output) for style_output in style_outputs]
        content_dict = dict(zip(self.content_layers, content_outputs))
        style_dict = dict(zip(self.style_layers, style_outputs))
        return {"content": content_dict, "style": style_dict}


class TutorialPeer:
    """The tutorial's loop for one content and one style image (float32 pixels in [0, 255]).

    ``step()`` runs one compiled ``train_step``; ``image`` is the current image in [0, 255].
    ``weights`` is a path to the keras VGG16 ``..._notop.h5`` file, ``"imagenet"`` or ``"random"``.
    """

    def __init__(
        self,
        content: np.ndarray,
        style: np.ndarray,
        content_layers: Sequence[str],
        style_layers: Sequence[str],
        weights: str,
    ):
        self.extractor = StyleContentModel(style_layers, content_layers, weights)
        self.num_content_layers = len(content_layers)
        self.num_style_layers = len(style_layers)
        content_image = tf.constant(content[None] / 255.0, tf.float32)
        style_image = tf.constant(style[None] / 255.0, tf.float32)
        self.style_targets = self.extractor(style_image)["style"]
        self.content_targets = self.extractor(content_image)["content"]
        self.variable = tf.Variable(content_image)
        self.opt = keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)

    def style_content_loss(self, outputs) -> tf.Tensor:
        style_outputs = outputs["style"]
        content_outputs = outputs["content"]
        style_loss = tf.add_n(
            [tf.reduce_mean((style_outputs[name] - self.style_targets[name]) ** 2) for name in style_outputs]
        )
        style_loss *= STYLE_WEIGHT / self.num_style_layers
        content_loss = tf.add_n(
            [tf.reduce_mean((content_outputs[name] - self.content_targets[name]) ** 2) for name in content_outputs]
        )
        content_loss *= CONTENT_WEIGHT / self.num_content_layers
        return style_loss + content_loss

    @tf.function()
    def train_step(self, image: tf.Variable) -> None:
        with tf.GradientTape() as tape:
            outputs = self.extractor(image)
            loss = self.style_content_loss(outputs)
            loss += TOTAL_VARIATION_WEIGHT * tf.image.total_variation(image)
        grad = tape.gradient(loss, image)
        self.opt.apply_gradients([(grad, image)])
        image.assign(tf.clip_by_value(image, clip_value_min=0.0, clip_value_max=1.0))

    def step(self) -> None:
        self.train_step(self.variable)

    @property
    def image(self) -> np.ndarray:
        """The current image, float32 ``[height, width, 3]`` in [0, 255]."""
        return self.variable.numpy()[0] * 255.0
