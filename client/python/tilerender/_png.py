"""A small PNG writer (zlib, filter 0) so that results show themselves in Jupyter without Pillow."""

from __future__ import annotations

import struct
import zlib

import numpy as np


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(pixels: np.ndarray, level: int = 1) -> bytes:
    """PNG bytes of an (H, W, 3) or (H, W, 4) uint8 array (or (H, W) gray)."""
    a = np.ascontiguousarray(pixels, dtype=np.uint8)
    if a.ndim == 2:
        color_type, channels = 0, 1
    elif a.ndim == 3 and a.shape[2] in (3, 4):
        color_type, channels = (2 if a.shape[2] == 3 else 6), a.shape[2]
    else:
        raise ValueError(f"cannot write a PNG of shape {a.shape}")
    h, w = a.shape[:2]
    rows = np.zeros((h, 1 + w * channels), dtype=np.uint8)  # filter byte 0 (None) per row
    rows[:, 1:] = a.reshape(h, w * channels)
    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), level)) +
            _chunk(b"IEND", b""))
