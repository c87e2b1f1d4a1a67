"""The update step as pure functions: SGD, the scale-free Adam (keras' Adam on the scaled gradient),
the scaling itself and its overflow safety, and the guard (clip, finite-only, last finite image)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfstyle.loop import updates


def images(seed: int = 0, shape=(2, 4, 5, 3)) -> tf.Tensor:
    return tf.constant(np.random.default_rng(seed).uniform(50, 200, shape), tf.float32)


def gradients(count: int, scales=(1.0, 1.0), shape=(2, 4, 5, 3)) -> list[tf.Tensor]:
    """``count`` random gradients; image i's scaled by ``scales[i]``."""
    rng = np.random.default_rng(1)
    scale = np.array(scales, np.float32)[:, None, None, None]
    return [tf.constant(rng.normal(0, 1, shape).astype(np.float32) * scale) for _ in range(count)]


def test_sgd_moves_by_the_learning_rate_times_the_gradient():
    image, (gradient,) = images(), gradients(1)
    moved, state = updates.sgd(image, gradient, updates.initial_state(image), learning_rate=0.5)
    np.testing.assert_array_equal(moved, image - gradient * 0.5)
    assert int(state.steps) == 1


def test_adam_is_keras_adam_on_the_scaled_gradient():
    start, steps = images(), gradients(5, scales=(3.0, 1e-3))
    update = updates.rule("adam", 8.0)
    image, state = start, updates.initial_state(start)
    for gradient in steps:
        image, state = update(image, gradient, state)
    # keras' Adam on each image's gradient divided by that image's first RMS: the same bits.
    first_rms = np.sqrt(np.mean(np.square(steps[0].numpy()), axis=(1, 2, 3), keepdims=True))
    np.testing.assert_allclose(state.scale.numpy(), first_rms, rtol=1e-6)
    variable = tf.Variable(start)
    optimizer = keras.optimizers.Adam(8.0)
    for gradient in steps:
        optimizer.apply_gradients([(updates.scale_free_gradient(gradient, state.scale)[0], variable)])
    np.testing.assert_array_equal(image, variable.numpy())
    assert int(state.steps) == 5 and int(optimizer.iterations) == 5
    assert updates.ADAM_BETA_1 == optimizer.beta_1 and updates.ADAM_BETA_2 == optimizer.beta_2
    assert updates.ADAM_EPSILON == optimizer.epsilon


def test_the_scale_is_each_images_first_finite_nonzero_rms():
    zero, (first, second) = tf.zeros([2, 4, 5, 3]), gradients(2, scales=(2.0, 5.0))
    scaled, scale = updates.scale_free_gradient(zero, tf.zeros([2, 1, 1, 1]))
    assert not np.any(scale.numpy()) and not np.any(scaled.numpy())  # no scale yet from a zero gradient
    scaled, scale = updates.scale_free_gradient(first, scale)
    rms = np.sqrt(np.mean(np.square(first.numpy()), axis=(1, 2, 3)))
    np.testing.assert_allclose(scale.numpy().ravel(), rms, rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(np.mean(np.square(scaled.numpy()), axis=(1, 2, 3))), 1.0, rtol=1e-5)
    _, kept = updates.scale_free_gradient(second * 100.0, scale)
    np.testing.assert_array_equal(kept, scale)  # fixed after its first step


def test_huge_gradients_neither_overflow_nor_change_the_steps():
    """Gradients of ~1e20 square past float32's 3.4e38: the RMS and Adam's moments stay finite, and
    the steps are those of the same gradients 1e20 times smaller."""
    start, small = images(), gradients(3)
    huge = [gradient * 1e20 for gradient in small]
    assert not np.all(np.isfinite(tf.square(huge[0]).numpy()))
    rms = updates.root_mean_square(huge[0]).numpy().ravel()
    np.testing.assert_allclose(rms, 1e20 * updates.root_mean_square(small[0]).numpy().ravel(), rtol=1e-5)
    update = updates.rule("adam", 8.0)
    results = []
    for steps in (small, huge):
        image, state = start, updates.initial_state(start)
        for gradient in steps:
            image, state = update(image, gradient, state)
        assert np.all(np.isfinite(state.v.numpy()))
        results.append(image.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=0, atol=1e-3)
    assert np.abs(results[0] - start.numpy()).mean() > 1.0


def test_the_step_clips_to_0_255_and_keeps_the_last_finite_image():
    update = updates.rule("sgd", 1.0)
    start = images()
    state = updates.initial_state(start)
    big = tf.fill(start.shape, -1e4)  # a step far past 255
    taken = updates.step(update, start, big, tf.constant(1.0), state, start)
    assert bool(taken.ok) and np.all(taken.image.numpy() == 255.0)
    np.testing.assert_array_equal(taken.last_good, start)
    # A non-finite loss: no step, and the last finite image stays.
    refused = updates.step(update, taken.image, big, tf.constant(np.inf), taken.state, taken.last_good)
    assert not bool(refused.ok)
    np.testing.assert_array_equal(refused.image, taken.image)
    np.testing.assert_array_equal(refused.last_good, start)
    assert int(refused.state.steps) == 1
    # A finite loss with a NaN gradient: no step; that image (its loss was finite) is the last good one.
    nan = updates.step(update, taken.image, tf.fill(start.shape, np.nan), tf.constant(1.0), taken.state, start)
    assert not bool(nan.ok)
    np.testing.assert_array_equal(nan.image, taken.image)
    np.testing.assert_array_equal(nan.last_good, taken.image)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_step_compiles_into_a_while_loop(optimizer):
    """As the SavedModel stylizer runs it: the state through a ``tf.while_loop``."""
    update = updates.rule(optimizer, 1.0)
    start, (gradient,) = images(), gradients(1)

    @tf.function
    def loop(count):
        def body(done, image, last_good, state, ok):
            taken = updates.step(update, image, gradient, tf.constant(1.0), state, last_good)
            return done + 1, taken.image, taken.last_good, taken.state, taken.ok

        state = updates.initial_state(start)
        return tf.while_loop(lambda done, *rest: done < count, body, (0, start, start, state, True))

    _, compiled, _, state, _ = loop(tf.constant(3))
    image, eager = start, updates.initial_state(start)
    for _ in range(3):
        image, eager = update(image, gradient, eager)
        image = tf.clip_by_value(image, 0.0, 255.0)
    np.testing.assert_allclose(compiled, image, rtol=0, atol=1e-4)
    assert int(state.steps) == 3
