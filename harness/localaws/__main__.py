"""`python -m harness.localaws`: the local AWS in the foreground (see `harness localaws`).

The process edge: the only place `HARNESS_LOCALAWS_PROFILE` and `HARNESS_LOCALAWS_FAULTS`
are read (defaults for `--profile` and `--faults`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from harness.errors import HarnessError
from harness.localaws import faults as faults_module


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The local AWS's options, shared by `python -m harness.localaws` and `harness localaws`."""
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=4566, help="port (0 picks a free one)")
    parser.add_argument("--profile", default=None, metavar="SPEC",
                        help="propagation as AWS does it: default (instant) or aws-like[:role=10s,stage=3s,flap=1] "
                             f"(default: ${faults_module.PROFILE_ENV} or default)")
    parser.add_argument("--role-delay", default=None, metavar="DURATION",
                        help="a new or changed IAM role is not assumable for this long (e.g. 8s)")
    parser.add_argument("--stage-delay", default=None, metavar="DURATION",
                        help="a new deployment or stage answers 403 for this long (e.g. 3s)")
    parser.add_argument("--faults", default=None, metavar="SPEC",
                        help=f"inject faults, e.g. '{faults_module.FAULTS_EXAMPLE}' "
                             f"(default: ${faults_module.FAULTS_ENV}); see harness/localaws/faults.py")


def faults_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> faults_module.Faults | None:
    profile = args.profile if args.profile is not None else environ.get(faults_module.PROFILE_ENV)
    spec = args.faults if args.faults is not None else environ.get(faults_module.FAULTS_ENV)
    return faults_module.from_specs(profile, spec, args.role_delay, args.stage_delay)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="harness localaws", description=__doc__)
    add_arguments(parser)
    parser.add_argument("--ready-file", help="write the endpoint here once ready")
    parser.add_argument("--warm-up", default="background", choices=("background", "before-ready", "off"),
                        help="make each service's first (slow) call itself: right after reporting ready "
                             "(default), before reporting ready, or not at all (harness/localaws/warmup.py)")
    args = parser.parse_args(argv)
    from harness.localaws.server import serve_forever

    try:
        return serve_forever(args.host, args.port, args.ready_file, faults_from_args(args, os.environ),
                             args.warm_up)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything lives in memory and the server has closed its socket: skip the interpreter's
    # teardown of moto's modules (~0.25 s), which every run's teardown would wait for.
    os._exit(code)
