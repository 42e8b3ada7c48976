"""Views that a page and the lesson both draw: one module per page, each holding that page's
cached view (one call into ``bertcore``) and the ``draw_...`` function that lays it out, so that
the lesson embeds the very code the full page runs (``pages/lesson.py``)::

    from ui import views
    views.tokenization.draw_chips(enc, span)
"""

from . import attention, embeddings, layer, masked_lm, next_sentence, tokenization

__all__ = ["attention", "embeddings", "layer", "masked_lm", "next_sentence", "tokenization"]
