"""bertcore: a small, readable BERT that shows its work.

BERT (Devlin et al., 2019, https://arxiv.org/abs/1810.04805) in a few hundred lines a concept.
The model: ``config`` (hyper-parameters), ``tokenizer`` (WordPiece with a trace), ``model``
(embeddings, self-attention, encoder, with an explained path that returns every intermediate),
``heads`` (masked-LM, next-sentence, classification, token classification, QA span),
``checkpoint`` (Hugging Face checkpoints in and out), ``device``, and the ``Bert`` facade in
``api``. What the app shows of it, one module per concept: ``embeddings``, ``attention``,
``layer``, ``masked_lm``, ``bidirectional`` (both sides vs a causal mask), ``attribution``
(which words mattered, with captum), ``next_sentence``, ``lesson`` (the guided lesson's
questions, answered from the model). How it learns: ``data`` (NSP pairs,
the 15 % masking rule), ``pretraining`` (the MLM + NSP loss and evaluation), ``train`` (one
training loop), ``toy`` (a tiny BERT pre-trained live), ``finetune`` and ``tasks``; ``corpora``
and ``defaults`` (the text and the offline models the app uses)::

    import bertcore
    bert = bertcore.load("bert-base-uncased")
    bert.fill_mask("The [MASK] barked.")
"""

from .api import Bert, Explained, MissingHeadError, load
from .checkpoint import CheckpointError, LoadReport, OfflineError, save_pretrained
from .config import BertConfig, ConfigError
from .tokenizer import Encoding, Tokenizer

__all__ = ["Bert", "BertConfig", "CheckpointError", "ConfigError", "Encoding", "Explained",
           "LoadReport", "MissingHeadError", "OfflineError", "Tokenizer", "load", "save_pretrained"]
