"""`python -m harness.localaws`: the local AWS in the foreground (see `harness localaws`)."""

from __future__ import annotations

import argparse
import sys

from harness.errors import HarnessError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="harness localaws", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=4566, help="port (0 picks a free one)")
    parser.add_argument("--ready-file", help="write the endpoint here once ready")
    args = parser.parse_args(argv)
    from harness.localaws.server import serve_forever

    try:
        return serve_forever(args.host, args.port, args.ready_file)
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
