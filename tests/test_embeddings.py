"""bertcore.embeddings: the three lookups add up to the model's own embedding output, and the
position embeddings' cosine matrix."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import bertcore
from bertcore import embeddings


@pytest.fixture(scope="module")
def bert(tiny_ckpt):
    return bertcore.load(tiny_ckpt[0], device="cpu")


def test_embedding_parts_add_up_to_the_models_own_embedding_output(bert, tiny_ckpt):
    enc = bert.encode("the dog barked .", "it rained .")
    parts = embeddings.embedding_parts(bert, enc)
    T, D = len(enc.ids), bert.config.hidden_size
    assert parts.word.shape == parts.position.shape == parts.segment.shape == (T, D)
    np.testing.assert_allclose(parts.word + parts.position + parts.segment, parts.sum, atol=1e-6)
    assert parts.sum_diff <= 1e-6 and parts.output_diff <= 1e-5
    hf = tiny_ckpt[1]
    with torch.no_grad():
        ref = hf.bert.embeddings(input_ids=torch.tensor([enc.ids]),
                                 token_type_ids=torch.tensor([enc.type_ids]))[0]
    np.testing.assert_allclose(parts.layernorm, ref.numpy(), atol=1e-5)
    # sentence B's tokens carry segment 1's vector
    b = enc.type_ids.index(1)
    assert not np.allclose(parts.segment[0], parts.segment[b])


def test_position_similarity_is_a_cosine_matrix(bert):
    sim = embeddings.position_similarity(bert, 10)
    assert sim.shape == (10, 10)
    np.testing.assert_allclose(np.diag(sim), 1.0, atol=1e-5)
    np.testing.assert_allclose(sim, sim.T, atol=1e-6)
    assert (embeddings.position_similarity(bert, 10_000).shape[0]
            == bert.config.max_position_embeddings)


def test_a_long_position_map_samples_every_kth_position(bert):
    assert embeddings.sampled_positions(64, 128) == list(range(64))
    assert embeddings.sampled_positions(512, 128) == list(range(0, 512, 4))
    assert embeddings.sampled_positions(300, 128) == list(range(0, 300, 3))
    assert len(embeddings.sampled_positions(129, 128)) <= 128
    some = [0, 3, 6, 9]
    sim = embeddings.position_similarity(bert, 4, some)
    np.testing.assert_allclose(sim, embeddings.position_similarity(bert, 10)[np.ix_(some, some)],
                               atol=1e-6)
