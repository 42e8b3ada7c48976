"""Small multiples: one thumbnail image per attention head.

The attention page shows every head of a layer side by side (12 for bert-base). As plotly charts,
12 thumbnails cost 0.47 s to build on the server (measured at 32 × 32) and kept a loaded browser
busy for seconds drawing them; they are static pictures (no hover, no axes), so they are images:
one cell of colour per weight, in the app's sequential scale (``charts.SEQUENTIAL``), with a white
gap between cells like the big heatmap's. A 32 × 32 thumbnail is built in well under a millisecond
and the browser draws it as any picture.

Each picture goes to the page as a PNG inside its ``data:`` URL (:func:`data_url`). Given as an
array, ``st.image`` encodes an RGB picture as a JPEG (~28 kB for a thumbnail's sharp cells, their
edges smeared), decodes it again to check its size, and the browser fetches each from the server:
12 requests after every edit. As PNGs (~3 kB each) they come with the page's own message.
"""

from __future__ import annotations

import base64
import functools
import io
import re

import numpy as np

from . import charts

SHOWN = 170  # pixels per side on the page, margin included: 2 a row on a phone, 5 at 1440 px
MARGIN = 8  # white pixels around each picture, which stand side by side
# Pixels per side of the picture itself, more than are shown: a long text's 32-token window keeps
# 7-pixel cells, whose 1-pixel gaps stay thin (at 154 pixels, the shown size, its cells were 4
# pixels and a quarter of every picture white: a pale grid).
SIZE = 240


@functools.lru_cache(maxsize=8)
def _lut(colorscale) -> np.ndarray:
    """(256, 3) uint8 colours of a plotly colour scale (a name or [[position, colour], ...])."""
    import plotly.colors

    scale = colorscale if isinstance(colorscale, str) else [list(p) for p in colorscale]
    samples = plotly.colors.sample_colorscale(scale, list(np.linspace(0.0, 1.0, 256)))
    rgb = [[float(v) for v in re.findall(r"[\d.]+", c)[:3]] for c in samples]
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def thumbnail(matrix, *, zmax: float = 1.0, size: int = SIZE, margin: int = 0) -> np.ndarray:
    """An attention matrix as an RGB picture: row i of cells is row i of ``matrix`` (top first).

    Args:
        matrix: (rows, columns) weights; 0 is the scale's palest colour, ``zmax`` (or more) its
            darkest.
        zmax: the weight drawn darkest.
        size: about this many pixels on the longer side (each cell a whole number of pixels, with
            a one-pixel white gap when cells are 4 pixels or more).
        margin: white pixels around the picture (pictures drawn side by side then stand apart).

    Returns:
        (height, width, 3) uint8 array, for ``st.image``.
    """
    m = np.asarray(matrix, dtype=float)
    m = m.reshape(1, -1) if m.ndim == 1 else m
    scale = float(zmax) if zmax and zmax > 0 else 1.0
    codes = np.rint(np.clip(np.nan_to_num(m / scale), 0.0, 1.0) * 255).astype(np.intp)
    img = _lut(charts.SEQUENTIAL)[codes]  # (rows, columns, 3)
    cell = max(1, size // max(m.shape))
    img = np.repeat(np.repeat(img, cell, axis=0), cell, axis=1)
    if cell >= 4:
        img[cell - 1::cell, :] = 255
        img[:, cell - 1::cell] = 255
    if margin:
        img = np.pad(img, ((margin, margin), (margin, margin), (0, 0)), constant_values=255)
    return img


def data_url(picture: np.ndarray) -> str:
    """An RGB picture (``thumbnail``'s) as a ``data:image/png`` URL, for ``st.image``.

    Compression level 1: ~0.7 ms a thumbnail, 50 % larger than the default's (level 6) 2 ms.
    """
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(picture, dtype=np.uint8)).save(out, format="PNG",
                                                                        compress_level=1)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")
