"""The command line for SavedModel exports: ``python -m tfstyle.export --output saved_models/vgg16_features``.

Writes the VGG16 feature extractor (signatures ``features`` and ``gram``), or with ``--stylizer``
the whole style transfer (``stylize(content, style, iterations)`` plus those two). Only reads
flags: it builds a :class:`tfstyle.StyleConfig` from them (:mod:`tfstyle.cli.flags`) and calls
:mod:`tfstyle.pipelines.savedmodel`. Errors a user can cause print one line on stderr and exit
with status 1.

The flags live in their own ``FlagValues``, not absl's global ``FLAGS``: ``--output``,
``--weights`` and the rest share names with ``tfstyle.run``'s, and both modules may be imported
into one process (tests, notebooks).
"""

from __future__ import annotations

import sys

from absl import flags

from tfstyle.cli.command import Command
from tfstyle.cli.common import fail, import_tensorflow_quietly
from tfstyle.cli.flags import config_from_flags, flag_name

import_tensorflow_quietly()

from tfstyle import exports  # noqa: E402
from tfstyle.errors import ConfigError, TfstyleError  # noqa: E402
from tfstyle.pipelines import savedmodel  # noqa: E402 - after the quiet import above

# The settings the feature export uses too; the others are baked into the stylizer only.
FEATURE_SETTINGS = ("normalization", "weights", "seed")
STYLIZER_SETTINGS = (
    "content_layers", "style_layers", "content_layer_weights", "style_layer_weights", "content_weight", "style_weight",
    "tv_weight", "init", "optimizer", "learning_rate", "pooling",
)  # fmt: skip

FLAGS = flags.FlagValues()
COMMAND = Command(
    "python -m tfstyle.export",
    "--output=FOLDER [--stylizer] [flags]",
    "Writes VGG16's features and Gram matrices as a SavedModel (signatures features and gram) that plain "
    "TensorFlow loads, or with --stylizer the whole style transfer (a stylize(content, style, iterations) "
    "signature with the settings baked in). A bad input is one line and exit status 1.",
    FLAGS,
)

# fmt: off
COMMAND.own("inputs and output", flags.DEFINE_string, "output", None, "Folder to write the SavedModel to, e.g. "
            "saved_models/vgg16_features. It may be missing, empty or an earlier tfstyle export (which is replaced); "
            "anything else is refused.", "FOLDER", required=True)
COMMAND.own("inputs and output", flags.DEFINE_list, "layers", None, "VGG16 layers the feature export outputs, paper (conv3_3) "
            "or Keras (block3_conv3) names. Default: every layer the --preset uses.", "NAME,...")
COMMAND.own("inputs and output", flags.DEFINE_bool, "stylizer", False, "Export the whole style transfer: a 'stylize(content, "
            "style, iterations)' signature that runs the optimization inside the graph with the --preset's settings and "
            "the settings flags given baked in (the optimizer sgd or adam: the preset's lbfgs becomes adam).")
COMMAND.settings(
    (*FEATURE_SETTINGS, *STYLIZER_SETTINGS),
    choices={"optimizer": savedmodel.STYLIZER_OPTIMIZERS, "init": savedmodel.STYLIZER_INITS},
    preset_help=" (the feature export takes its layers and normalization from it; --stylizer everything)",
)
# fmt: on


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
    given = [f"--{flag_name(name)}" for name in STYLIZER_SETTINGS if FLAGS[flag_name(name)].present]
    if given:
        raise ConfigError(f"{', '.join(given)}: stylizer settings, for --stylizer exports only; add --stylizer or leave them out")
    settings = config_from_flags(FLAGS)
    layers = FLAGS.layers if FLAGS["layers"].present else settings.layers_in_use()
    path = savedmodel.export_features(FLAGS.output, layers, settings.weights, settings.normalization, settings.seed)
    info = exports.read_export_info(path) or {}
    return (
        f"wrote the feature extractor to {FLAGS.output}: signatures features, gram; layers {', '.join(info.get('layers', []))}; "
        f"{settings.normalization} Gram normalization; weights {info.get('weights', '?')}"
    )


def _export_stylizer() -> str:
    if FLAGS["layers"].present:
        raise ConfigError("--layers is for the feature export; with --stylizer use --content_layers and --style_layers")
    config = config_from_flags(FLAGS)
    if config.optimizer not in savedmodel.STYLIZER_OPTIMIZERS and not FLAGS["optimizer"].present:
        config = config.override(optimizer="adam")  # the preset's lbfgs cannot run in a graph
    path = savedmodel.export_stylizer(FLAGS.output, config)
    info = exports.read_export_info(path) or {}
    return (
        f"wrote the stylizer to {FLAGS.output}: signatures stylize, features, gram; layers {', '.join(info.get('layers', []))}; "
        f"{config.optimizer} at learning rate {config.effective_learning_rate:g}, a={config.content_weight:g}, "
        f"b={config.style_weight:g}, {config.normalization} normalization, init {config.init}; weights {info.get('weights', '?')}"
    )


def cli(argv: list[str]) -> int:
    """The command line in-process (tests, embedding): its exit status instead of an exit."""
    return COMMAND.cli(main, argv)


def entry_point() -> None:
    COMMAND.entry_point(main)

