"""The ``imu-gait`` command line. Each subcommand lives in ``imu_gait/commands/<name>.py`` and provides
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``; heavy imports happen inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from imu_gait import __version__
from imu_gait.errors import ImuGaitError

# subcommand -> module name under imu_gait.commands, in the order `--help` lists them
COMMANDS: dict[str, str] = {
    "demo": "demo",
    "scan": "scan",
    "record": "record",
    "finalize": "finalize",
    "emulate": "emulate",
    "replay": "replay",
    "import": "import_",
    "info": "info",
    "mark": "mark",
    "simulate": "simulate",
    "analyze": "analyze",
    "compare": "compare",
    "batch": "batch",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imu-gait",
        description="Wearable IMU gait analysis: foot pronation and knee frontal-plane motion.",
    )
    parser.add_argument("--version", action="version", version=f"imu-gait {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        full = f"imu_gait.commands.{module_name}"
        if importlib.util.find_spec(full) is None:
            continue  # not built yet: not offered
        module = importlib.import_module(full)
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except ImuGaitError as e:
        print(f"imu-gait {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"imu-gait {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
