"""bertcore: a small, readable BERT that shows its work.

BERT (Devlin et al., 2019, https://arxiv.org/abs/1810.04805) in a few hundred lines a concept:
``config`` (hyper-parameters), ``tokenizer`` (WordPiece with a trace), ``model`` (embeddings,
self-attention, encoder, with an explained path that returns every intermediate), ``heads``
(masked-LM, next-sentence, classification, token classification, QA span), ``checkpoint`` (Hugging
Face checkpoints in and out), ``device``, and the ``Bert`` facade in ``api``::

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
