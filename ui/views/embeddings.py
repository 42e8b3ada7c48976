"""The embeddings page's view of one token (``pages/embeddings.py``), also drawn by the lesson:
its word, position and segment vectors, their sum and the LayerNorm, as numbers from the model."""

from __future__ import annotations

import numpy as np
import streamlit as st

from bertcore import embeddings
from ui import charts, models
from ui.i18n import t


@st.cache_data(max_entries=32, show_spinner=False)
def parts_view(name: str, sentence: str, pair: str | None) -> embeddings.EmbeddingParts:
    """Word, position and segment vectors, their sum and LayerNorm, checked against the model."""
    return embeddings.embedding_parts(models.loaded(name), models.encode(name, sentence, pair))


def token_rows(parts: embeddings.EmbeddingParts, enc, pos: int) -> tuple[list[str], np.ndarray]:
    """The five rows of token ``pos`` (word, position, segment, sum, LayerNorm): their labels and
    their vectors, (5, D)."""
    rows = [t("emb.row_word", token=enc.tokens[pos], id=enc.ids[pos]),
            t("emb.row_position", pos=pos), t("emb.row_segment", seg=enc.type_ids[pos]),
            t("emb.row_sum"), t("emb.row_ln")]
    return rows, np.stack([parts.word[pos], parts.position[pos], parts.segment[pos],
                           parts.sum[pos], parts.layernorm[pos]])


def draw_heatmaps(rows: list[str], matrix: np.ndarray, dim: int, key: str = "emb") -> None:
    """The token's rows as colour strips: the three parts and their sum, then apart from them the
    LayerNorm on a colour scale of its own (its outputs are ~10-100x larger than the raw parts: one
    shared scale would leave the parts white).

    The title is text above the chart, which wraps on a phone where a chart's title would be cut
    off; the dimension axis gets plotly's automatic ticks, as many as its width holds.
    """
    st.markdown(f"**{t('emb.heatmap_parts', dim=dim)}**")
    fig = charts.vectors.fresh(matrix, rows, own_scale=1, dim_label=t("emb.dim"))
    fig.update_xaxes(nticks=0)
    st.plotly_chart(fig, width="stretch", config=charts.plot_config("embedding-parts"),
                    key=f"{key}_parts_fig")
