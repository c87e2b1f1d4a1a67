"""The command line for collections on Apache Beam:
``python -m tfstyle.beam --input 'photos/*.jpg' --style painting.jpg --output_dir out [--runner ...]``.

Stylizes every file matching ``--input`` into ``--output_dir`` in a Beam pipeline, here or on
Dataflow, Flink or Spark (docs/many-machines.md). The settings flags are generated from
:class:`tfstyle.StyleConfig`'s fields as ``tfstyle.run``'s are; every flag that is not tfstyle's
goes to Beam as a pipeline option (``--runner``, ``--project``, ``--temp_location``, ...), and one
that Beam does not know either is an error. With ``--model`` and no ``--style`` a fast stylizer
paints each image; with both, the optimization refines its picture. Only reads flags: it builds a
config and calls :func:`tfstyle.scale.beam.run_pipeline`, which needs the ``beam`` extra.
"""

from __future__ import annotations

import logging
import sys

from absl import flags

from tfstyle.cli.command import Command
from tfstyle.cli.common import fail, import_tensorflow_quietly, styles_or_model
from tfstyle.cli.flags import config_from_flags, flag_text

import_tensorflow_quietly()

from tfstyle.errors import TfstyleError  # noqa: E402 - after the quiet import above

FLAGS = flags.FlagValues()
COMMAND = Command(
    "python -m tfstyle.beam",
    "--input=PATTERN (--style=PAINTING | --model=NAME) --output_dir=FOLDER [flags] [Beam pipeline options]",
    "Stylizes every file matching --input into --output_dir in an Apache Beam pipeline: here, or on Dataflow, "
    "Flink or Spark with --runner and that runner's options (every flag that is not tfstyle's goes to Beam). "
    "Paths may be local or on any filesystem Beam reads (gs://, s3://, hdfs://). An image whose output exists is "
    "skipped, so the same command continues a stopped run; an image that fails is listed in "
    "<output_dir>/_failed-*.txt and the others go on (exit status 1 if any failed). With --model and no --style, a fast "
    "stylizer paints each image in one pass; with both, the optimization refines the fast picture.",
    FLAGS,
)

# fmt: off
COMMAND.own("inputs and output", flags.DEFINE_string, "input", None, "Pattern of the content images, e.g. 'photos/*.jpg' "
            "or 'gs://bucket/photos/**.jpg' (quote it; Beam's patterns: * stays within a folder, ** crosses folders).",
            "PATTERN", required=True)
COMMAND.style(or_model=True)
COMMAND.own("inputs and output", flags.DEFINE_string, "output_dir", None, "Folder for the results, <name>.<format> each "
            "(created if missing), and the list of failures, _failed-<time>-*.txt.", "FOLDER", required=True)
COMMAND.results_format()
COMMAND.settings()
COMMAND.overwrite(one_output=False)
# fmt: on

EXTRA = "pip install 'tfstyle[beam]'"
SHOWN_FAILURES = 20
_NOISE = ("apitools not found", "Resource module is not available")  # Beam's warnings that concern nothing here


def main(argv: list[str]) -> int:
    """Run the pipeline the parsed flags ask for, with the other arguments as Beam's options; return the exit status."""
    try:
        beam = _import_beam()
        unknown = beam.unknown_options(argv[1:])
        if unknown:
            return fail(
                f"not a tfstyle flag nor a Beam pipeline option: {' '.join(unknown)} "
                "(quote the --input pattern; see --help for tfstyle's flags)"
            )
        styles, config = styles_or_model(FLAGS.style, config_from_flags(FLAGS), bool(FLAGS["init"].present))
        style = (styles if len(styles) > 1 else styles[0]) if styles else None
        files = beam.StylizeFiles(
            FLAGS.input, style, FLAGS.output_dir, config, suffix=f".{FLAGS.format}", overwrite=FLAGS.overwrite
        )
        summary = beam.run_pipeline(files, options=argv[1:])
    except KeyboardInterrupt:
        print("\ninterrupted; the images written so far are kept: run the same command again to go on", file=sys.stderr)
        return 130
    except TfstyleError as err:
        return fail(str(err))
    per_image = (
        f" ({summary.seconds_per_image:.1f} s, {summary.cpu_seconds_per_image:.1f} CPU-s per image on a worker)"
        if summary.stylized
        else ""
    )
    print(
        f"{summary.stylized} stylized, {summary.skipped} skipped, {summary.failed} failed in "
        f"{summary.seconds / 60:.1f} min{per_image}; results in {FLAGS.output_dir}"
    )
    if summary.failed:
        for line in beam.failure_lines(summary.failures, SHOWN_FAILURES):
            print(f"failed: {flag_text(line)}", file=sys.stderr)
        if summary.failed > SHOWN_FAILURES:
            print(f"... and {summary.failed - SHOWN_FAILURES} more", file=sys.stderr)
        return fail(f"{summary.failed} image{'s' if summary.failed != 1 else ''} failed (listed in {summary.failures})")
    return 0


def _import_beam():
    """:mod:`tfstyle.scale.beam`, without Beam's import-time warnings; TfstyleError naming the extra if Beam is missing."""
    logging.getLogger().addFilter(_quiet)
    try:
        import apache_beam  # noqa: F401
    except ImportError:
        raise TfstyleError(f"python -m tfstyle.beam needs Apache Beam: {EXTRA}") from None
    from tfstyle.scale import beam

    return beam


def _quiet(record: logging.LogRecord) -> bool:
    return not any(noise in record.getMessage() for noise in _NOISE)


def parse_flags(argv: list[str]) -> list[str]:
    """absl's parsing into this module's flags, leaving the others for Beam; ``--help`` answered, a flag error in one line."""
    return COMMAND.parse(argv, known_only=True)


def cli(argv: list[str]) -> int:
    """The command line in-process (tests, embedding): its exit status instead of an exit."""
    return COMMAND.cli(main, argv, known_only=True)


def entry_point() -> None:
    COMMAND.entry_point(main, known_only=True)

