"""The command line for SavedModel exports: ``python -m tfstyle.export --output saved_models/vgg16_features``.

Writes the VGG16 feature extractor (signatures ``features`` and ``gram``), or with ``--stylizer``
the whole style transfer (``stylize(content, style, iterations)`` plus those two). Only reads
flags: it builds plain settings and calls :mod:`tfstyle.pipelines.savedmodel`. Errors a user can cause print
one line on stderr and exit with status 1.

The flags live in their own ``FlagValues``, not absl's global ``FLAGS``: ``--output``,
``--weights`` and the rest share names with ``tfstyle.run``'s, and both modules may be imported
into one process (tests, notebooks).
"""

from __future__ import annotations

import sys

from absl import flags

from tfstyle.cli.common import (
    exit_status,
    fail,
    import_tensorflow_quietly,
    parse_float,
    parse_own_flags,
    quiet_on_a_closed_pipe,
)

import_tensorflow_quietly()

from tfstyle.config import PRESETS, preset  # noqa: E402
from tfstyle.errors import ConfigError, TfstyleError  # noqa: E402
from tfstyle.objective.losses import NORMALIZATIONS  # noqa: E402
from tfstyle.pipelines import savedmodel  # noqa: E402 - after the quiet import above

FLAGS = flags.FlagValues()

# fmt: off
flags.DEFINE_string("output", None, "Directory to write the SavedModel to, e.g. saved_models/vgg16_features. Required. "
                    "It may be missing, empty or an earlier tfstyle export (which is replaced); anything else is refused.", flag_values=FLAGS)
flags.DEFINE_list("layers", None, "Comma-separated VGG16 layers to export, paper (conv3_3) or Keras (block3_conv3) names. "
                  "Default: every layer the --preset uses.", flag_values=FLAGS)
flags.DEFINE_string("weights", None, "VGG16 weights: a path to vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5, 'imagenet' "
                    "($TFSTYLE_VGG16_WEIGHTS if set, else keras' download) or 'random' (seeded, for tests). Default: imagenet.", flag_values=FLAGS)
flags.DEFINE_integer("seed", None, "Seed of --weights=random (and of the stylizer's noise init). Default 0.", flag_values=FLAGS)
flags.DEFINE_enum("preset", "default", list(PRESETS), "Settings to start from: the default layers, the Gram normalization and, "
                  "with --stylizer, everything baked into the stylizer; the flags below override them.", flag_values=FLAGS)
flags.DEFINE_enum("normalization", None, list(NORMALIZATIONS), "Loss normalization: mean (Gram divided by height*width) or paper "
                  "(plain sums). Default: the preset's.", flag_values=FLAGS)
flags.DEFINE_bool("stylizer", False, "Export the whole style transfer: a 'stylize(content, style, iterations)' signature that runs "
                  "the optimization loop inside the graph, with the preset's settings (and the flags below) baked in.", flag_values=FLAGS)
# Baked into the stylizer (--stylizer only), as in tfstyle.run.
flags.DEFINE_list("content_layers", None, "Stylizer: comma-separated VGG16 layers for the content loss.", flag_values=FLAGS)
flags.DEFINE_list("style_layers", None, "Stylizer: comma-separated VGG16 layers for the style loss.", flag_values=FLAGS)
flags.DEFINE_list("content_layer_weights", None, "Stylizer: comma-separated w_i, one per content layer.", flag_values=FLAGS)
flags.DEFINE_list("style_layer_weights", None, "Stylizer: comma-separated z_i, one per style layer.", flag_values=FLAGS)
flags.DEFINE_float("content_weight", None, "Stylizer: a in Total = a*CL + b*SL.", flag_values=FLAGS)
flags.DEFINE_float("style_weight", None, "Stylizer: b in Total = a*CL + b*SL.", flag_values=FLAGS)
flags.DEFINE_float("tv_weight", None, "Stylizer: weight of the total-variation term.", flag_values=FLAGS)
flags.DEFINE_enum("init", None, ["content", "noise", "style"], "Stylizer: the starting image (default: the preset's).", flag_values=FLAGS)
flags.DEFINE_enum("optimizer", None, list(savedmodel.STYLIZER_OPTIMIZERS), "Stylizer: sgd or adam, run inside the graph. "
                  "Default: the preset's, or adam where the preset uses lbfgs (which cannot run in a graph).", flag_values=FLAGS)
flags.DEFINE_float("learning_rate", None, "Stylizer: step size of sgd or adam (default: the library's for that optimizer).", flag_values=FLAGS)
# fmt: on
flags.mark_flags_as_required(["output"], flag_values=FLAGS)

_STYLIZER_FLAGS = (
    "content_layers", "style_layers", "content_weight", "style_weight", "tv_weight", "init", "optimizer", "learning_rate",
)  # fmt: skip


def stylizer_config_from_flags(values: flags.FlagValues = FLAGS):
    """The preset with the flags given applied; lbfgs (the preset's, not asked for) becomes adam."""
    changes = {name: values[name].value for name in (*_STYLIZER_FLAGS, "weights", "seed", "normalization") if values[name].present}
    for name in ("content_layer_weights", "style_layer_weights"):
        if values[name].present:
            changes[name] = tuple(parse_float(f"--{name}", item) for item in values[name].value)
    config = preset(values.preset).override(**changes)
    if config.optimizer not in savedmodel.STYLIZER_OPTIMIZERS and not values["optimizer"].present:
        config = config.override(optimizer="adam")
    return config


def main(argv: list[str]) -> int:
    """Export what the parsed flags ask for; return the exit status."""
    if len(argv) > 1:
        return fail(f"unexpected argument(s): {' '.join(argv[1:])} (flags look like --output=saved_models/vgg16_features)")
    try:
        print(_export_stylizer() if FLAGS.stylizer else _export_features())
    except KeyboardInterrupt:
        print(f"\ninterrupted; nothing was written to {FLAGS.output}", file=sys.stderr)
        return 130
    except TfstyleError as err:
        return fail(str(err))
    return 0


def _export_features() -> str:
    given = [f"--{name}" for name in (*_STYLIZER_FLAGS, "content_layer_weights", "style_layer_weights") if FLAGS[name].present]
    if given:
        raise ConfigError(f"{', '.join(given)}: stylizer settings, for --stylizer exports only; add --stylizer or leave them out")
    settings = preset(FLAGS.preset)
    layers = FLAGS.layers if FLAGS["layers"].present else settings.layers_in_use()
    normalization = FLAGS.normalization or settings.normalization
    seed = settings.seed if FLAGS.seed is None else FLAGS.seed
    path = savedmodel.export_features(FLAGS.output, layers, FLAGS.weights or settings.weights, normalization, seed)
    info = savedmodel.read_export_info(path) or {}
    return (
        f"wrote the feature extractor to {FLAGS.output}: signatures features, gram; layers {', '.join(info.get('layers', []))}; "
        f"{normalization} Gram normalization; weights {info.get('weights', '?')}"
    )


def _export_stylizer() -> str:
    if FLAGS["layers"].present:
        raise ConfigError("--layers is for the feature export; with --stylizer use --content_layers and --style_layers")
    config = stylizer_config_from_flags()
    path = savedmodel.export_stylizer(FLAGS.output, config)
    info = savedmodel.read_export_info(path) or {}
    return (
        f"wrote the stylizer to {FLAGS.output}: signatures stylize, features, gram; layers {', '.join(info.get('layers', []))}; "
        f"{config.optimizer} at learning rate {config.effective_learning_rate:g}, a={config.content_weight:g}, "
        f"b={config.style_weight:g}, {config.normalization} normalization, init {config.init}; weights {info.get('weights', '?')}"
    )


def parse_flags(argv: list[str]) -> list[str]:
    """absl's parsing into this module's flags; ``--help`` answered, a flag error in one line."""
    return parse_own_flags(FLAGS, argv, __doc__)


def cli(argv: list[str]) -> int:
    """The command line in-process: parse ``argv`` (``argv[0]`` is the program name), export, and
    return the exit status instead of exiting. For tests and embedding."""
    return exit_status(lambda: main(parse_flags(argv)))


def entry_point() -> None:
    quiet_on_a_closed_pipe(lambda: sys.exit(cli(sys.argv)))


if __name__ == "__main__":
    entry_point()
