"""Uploaded archives checked before they are opened.

An .xlsx is a zip of XML parts. A real sheet of 100,000 contracts unpacks to ~110 MB at a ratio of ~10:1; a
"zip bomb" unpacks a small upload into gigabytes. The sizes the zip declares are checked before anything is
unpacked (readers such as calamine trust them too).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

MAX_UNPACKED_BYTES = 512 * 1024 * 1024
MAX_PART_RATIO = 200


def zip_bomb(source: bytes | Path) -> bool:
    """True when the zip declares more than MAX_UNPACKED_BYTES, or a large part compressed beyond MAX_PART_RATIO.

    A file that is no readable zip is not a bomb: the reader that opens it next reports it as damaged.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False
    unpacked = sum(p.file_size for p in parts)
    worst = max((p.file_size / max(p.compress_size, 1) for p in parts if p.file_size > 1024 * 1024), default=0)
    return unpacked > MAX_UNPACKED_BYTES or worst > MAX_PART_RATIO
