"""Files written whole: whoever reads one (another harness process, another xdist worker,
Terraform loading a stack's `*.tf`) sees the old content or the new, never half of it.

One helper, `replace_text`, for every small file the harness generates or records: the
generated `.tf` files, the CLI configuration, records of child processes, ready files.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def replace_text(path: Path, text: str) -> bool:
    """Make `path` hold exactly `text`; True if it was written, False if it already did.

    The text goes to a temporary file in the same directory (a hidden name no `*.tf` glob
    matches), which `os.replace` then puts in place: atomic on one file system. Unchanged
    content is not rewritten, so a file Terraform fingerprints by mtime keeps it.
    """
    try:
        if path.read_text() == text:
            return False
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        temporary.write_text(text)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return True
