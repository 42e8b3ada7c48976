"""BERT's pre-training data: sentence pairs for next sentence prediction, and dynamic masking for
the masked LM.

Follows Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
Understanding" (arXiv:1810.04805), section 3.1 and Appendix A.1, and Google's reference
implementation, google-research/bert ``create_pretraining_data.py``:

* **Next sentence prediction (NSP).** Each example is ``[CLS] A [SEP] B [SEP]``. Segments A and B
  are spans of whole sentences filled from a document up to a target length (``max_len - 3`` tokens,
  or with probability ``short_seq_prob`` a random shorter length, so that the model also sees short
  inputs). "50% of the time B is the actual next sentence that follows A (labeled as IsNext), and
  50% of the time it is a random sentence from the corpus (labeled as NotNext)" -- here always from
  a *different* document.
* **Masked LM.** "The training data generator chooses 15% of the token positions at random for
  prediction. If the i-th token is chosen, we replace the i-th token with (1) the [MASK] token 80%
  of the time (2) a random token 10% of the time (3) the unchanged i-th token 10% of the time."
  Masks are drawn afresh each time a batch is collated ("dynamic masking", as in RoBERTa), not fixed
  once as in Google's script.

The pieces are small and deterministic given a seed, so the same code builds a few hundred examples
for a live demo on a page and the full pre-training sets of the offline models' recipes. The text
comes from :mod:`bertcore.corpora`; the loss and evaluation are in :mod:`bertcore.pretraining`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import torch

# label of positions (and NSP rows) that take no part in the loss, as in PyTorch / HF
IGNORE_INDEX = -100


def tokenize_documents(
    docs: Iterable[Sequence[str]], tokenize: Callable[[str], list[int]]
) -> list[list[list[int]]]:
    """Token ids per sentence per document. ``tokenize`` maps text to ids *without* [CLS]/[SEP].

    Sentences that tokenize to nothing are dropped; documents are kept (possibly empty) so that
    index ``i`` still means ``docs[i]`` -- :class:`PretrainingExample` refers to documents by that
    index.
    """
    return [[ids for ids in (list(tokenize(s)) for s in doc) if ids] for doc in docs]


@dataclass
class PretrainingExample:
    """One pre-training input before masking: ``[CLS] tokens_a [SEP] tokens_b [SEP]``.

    ``is_next`` is 1 when B is the text that follows A in document ``doc_a`` (then
    ``doc_b == doc_a``), 0 when B was taken from another document ``doc_b``, and ``IGNORE_INDEX``
    (-100) for a masked-LM-only example, ``[CLS] tokens_a [SEP]`` with no B (``doc_b == -1``), made
    from a one-sentence document.
    """

    tokens_a: list[int]
    tokens_b: list[int]
    is_next: int
    doc_a: int
    doc_b: int


def _truncate_pair(a: list[int], b: list[int], max_tokens: int) -> None:
    """Trims the longer segment one token at a time until ``len(a) + len(b) <= max_tokens``.

    Google's script drops each token from the front or the back at random; here A loses tokens from
    its front and B from its back, so the seam is kept: when ``is_next == 1`` the first token of B
    really is the token that follows the last token of A.
    """
    while len(a) + len(b) > max_tokens:
        if len(a) > len(b):
            del a[0]
        else:
            b.pop()


def make_nsp_examples(
    docs_token_ids: list[list[list[int]]],
    max_len: int,
    rng: random.Random,
    short_seq_prob: float = 0.1,
    singletons: str = "mlm",
) -> list[PretrainingExample]:
    """Sentence-pair examples from tokenized documents, as ``create_instances_from_document`` builds
    them.

    Each document is walked sentence by sentence, gathering a chunk until it reaches the target
    length (``max_len - 3``, or with probability ``short_seq_prob`` a random length in
    ``[2, max_len - 3]``, drawn per chunk) or the document ends. A random cut splits the chunk into
    A and B. With probability 1/2, B is replaced by sentences from a random start in a random
    *other* document (``is_next = 0``), and the chunk's unused sentences are put back for the next
    example, as in Google's script. Then the pair is truncated to ``max_len - 3`` tokens (see
    :func:`_truncate_pair`).

    A chunk of a single sentence has no B of its own. Google's script then always uses a random B,
    which makes NotNext more frequent than IsNext (58% on the English corpus, 2/3 on two-sentence
    documents). Here the coin is kept: for IsNext the next sentence becomes B, or, at the end of the
    document, the sentence becomes B and the one before it A (that sentence is seen twice). So every
    NSP label is a fair coin. Documents of a single sentence (movie snippets, tweets) cannot show
    what comes next; with ``singletons="mlm"`` each becomes a masked-LM-only example
    (``is_next = -100``, no B), with ``"skip"`` it only serves as a random B.

    Args:
        docs_token_ids: ``docs[d][s]`` is the token ids of sentence ``s`` of document ``d``.
        max_len: total length including [CLS] and two [SEP]s; at least 5.
        rng: the source of randomness (``random.Random(seed)`` gives the same examples every time).
        short_seq_prob: probability of a shorter target length.
        singletons: ``"mlm"`` or ``"skip"``, what to do with one-sentence documents.

    Returns:
        The examples in document order; shuffle them for training.
    """
    if max_len < 5:
        raise ValueError("max_len must leave room for [CLS], [SEP], [SEP] and one token per "
                         "segment")
    if singletons not in ("mlm", "skip"):
        raise ValueError(f"singletons must be 'mlm' or 'skip', not {singletons!r}")
    usable = [d for d, doc in enumerate(docs_token_ids) if doc]
    if len(usable) < 2:
        raise ValueError("need at least two non-empty documents "
                         "(a random B must come from another one)")
    max_tokens = max_len - 3
    examples = []
    for d, doc in enumerate(docs_token_ids):
        if len(doc) == 1:
            if singletons == "mlm":
                examples.append(PretrainingExample(doc[0][: max_len - 2], [], IGNORE_INDEX, d, -1))
            continue
        chunk: list[list[int]] = []
        length, i = 0, 0
        target = rng.randint(2, max_tokens) if rng.random() < short_seq_prob else max_tokens
        while i < len(doc):
            chunk.append(doc[i])
            length += len(doc[i])
            if i == len(doc) - 1 or length >= target:
                random_next = rng.random() < 0.5
                if len(chunk) == 1 and not random_next:  # B must be a real continuation: borrow one
                    if i + 1 < len(doc):
                        i += 1
                        chunk.append(doc[i])  # the next sentence becomes B
                    else:
                        # last sentence: it becomes B, the one before it A
                        chunk.insert(0, doc[i - 1])
                a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
                tokens_a = [t for s in chunk[:a_end] for t in s]
                if random_next:
                    # uniform over the other usable documents: (usable is sorted) skip d
                    j = rng.randrange(len(usable) - 1)
                    doc_b = usable[j + 1] if usable[j] >= d else usable[j]
                    random_doc = docs_token_ids[doc_b]
                    tokens_b: list[int] = []
                    for s in random_doc[rng.randrange(len(random_doc)) :]:
                        tokens_b.extend(s)
                        if len(tokens_b) >= target - len(tokens_a):
                            break
                    i -= len(chunk) - a_end  # put the unused sentences back
                else:
                    doc_b = d
                    tokens_b = [t for s in chunk[a_end:] for t in s]
                _truncate_pair(tokens_a, tokens_b, max_tokens)
                examples.append(PretrainingExample(tokens_a, tokens_b, 0 if random_next else 1,
                                                   d, doc_b))
                chunk, length = [], 0
                target = rng.randint(2, max_tokens) if rng.random() < short_seq_prob else max_tokens
            i += 1
    return examples


def first_word_id(tokenizer) -> int:
    """The first id after the special and ``[unusedN]`` tokens: where random replacements start
    (999 in bert-base-uncased's vocabulary, 5 in :func:`~bertcore.corpora.build_char_vocab`'s)."""
    return next((i for t, i in sorted(tokenizer.vocab.items(), key=lambda kv: kv[1])
                 if not (t.startswith("[") and t.endswith("]"))), 0)


def mask_tokens(
    input_ids: torch.LongTensor,
    special_mask: torch.BoolTensor,
    vocab_size: int,
    mask_id: int,
    generator: torch.Generator,
    mlm_prob: float = 0.15,
    first_non_special_id: int = 0,
) -> tuple[torch.LongTensor, torch.LongTensor]:
    """BERT's masking rule, applied to a batch of token ids (not in place).

    In each row, ``round(mlm_prob * n)`` (half to even) of the ``n`` positions where
    ``special_mask`` is False are chosen uniformly at random -- at least one when ``n > 0`` and
    ``mlm_prob > 0``, as in Google's script, so every row has something to predict
    (:func:`choose_positions`). Each chosen position independently becomes [MASK] with probability
    0.8, a random token with probability 0.1 (uniform over ids
    ``first_non_special_id .. vocab_size - 1``; it may happen to equal the original), and stays
    unchanged with probability 0.1 (:func:`replace_chosen`).

    Args:
        input_ids: (B, T) token ids.
        special_mask: (B, T) True where a position must never be chosen: [CLS], [SEP], [PAD].
        vocab_size: number of token ids.
        mask_id: the id of [MASK].
        generator: all randomness comes from it, so a seeded generator gives the same masks.
        mlm_prob: fraction of positions to predict.
        first_non_special_id: random replacements are drawn from this id upward (see
            :func:`first_word_id`). 0 draws from the whole vocabulary, as Google's script and HF do.

    Returns:
        ``(masked_ids, labels)``: the ids to feed the model, and the original id at each chosen
        position with ``IGNORE_INDEX`` (-100) everywhere else.
    """
    scores = torch.rand(input_ids.shape, generator=generator)
    chosen = choose_positions(~special_mask.bool(), mlm_prob, scores)
    return replace_chosen(input_ids, chosen, vocab_size, mask_id, generator, first_non_special_id)


def choose_positions(eligible: torch.BoolTensor, mlm_prob: float,
                     scores: torch.Tensor) -> torch.BoolTensor:
    """The positions to predict: in each row the ``round(mlm_prob * n)`` eligible positions (at
    least one) with the lowest ``scores``; uniform random scores make it BERT's random choice.

    Args:
        eligible: (B, T) True where a position may be chosen.
        scores: (B, T) the order of choice, lowest first.

    Returns:
        (B, T) True at the chosen positions.
    """
    n = eligible.sum(dim=1, keepdim=True)
    k = (n.double() * mlm_prob).round().long()
    if mlm_prob > 0:
        k = torch.where(n > 0, k.clamp(min=1), 0)
    # Rank eligible positions by their score; the k lowest ranks in each row are chosen.
    ranks = scores.masked_fill(~eligible, float("inf")).argsort(dim=1).argsort(dim=1)
    return eligible & (ranks < k)


def replace_chosen(input_ids: torch.LongTensor, chosen: torch.BoolTensor, vocab_size: int,
                   mask_id: int, generator: torch.Generator,
                   first_non_special_id: int = 0) -> tuple[torch.LongTensor, torch.LongTensor]:
    """The 80/10/10 rule at the ``chosen`` positions: [MASK], a random token, or unchanged.

    Returns:
        ``(masked_ids, labels)`` as :func:`mask_tokens` does.
    """
    labels = torch.where(chosen, input_ids, IGNORE_INDEX)
    action = torch.rand(input_ids.shape, generator=generator)
    random_ids = torch.randint(first_non_special_id, vocab_size, input_ids.shape,
                               generator=generator)
    masked = torch.where(chosen & (action < 0.8), mask_id, input_ids)
    masked = torch.where(chosen & (action >= 0.8) & (action < 0.9), random_ids, masked)
    return masked.long(), labels.long()


def mask_actions(ids, masked_ids, labels, mask_id: int) -> list[str]:
    """Per token, what the masking rule did: "" (not chosen), "mask", "random" or "keep"."""
    actions = []
    for orig, new, label in zip(ids, masked_ids, labels):
        if label < 0:
            actions.append("")
        elif new == mask_id and orig != mask_id:
            actions.append("mask")
        elif new != orig:
            actions.append("random")
        else:
            actions.append("keep")
    return actions


class PretrainingCollator:
    """Turns a list of :class:`PretrainingExample` into a padded, masked batch for BERT
    pre-training.

    Returns a dict of LongTensors, ready for ``model(**batch)`` in Hugging Face's naming:

    * ``input_ids`` (B, T): ``[CLS] A [SEP] B [SEP]`` after :func:`mask_tokens`, right-padded with
      ``pad_id`` to the longest example in the batch (T <= ``max_len`` when given);
    * ``token_type_ids`` (B, T): 0 for [CLS], A and the first [SEP]; 1 for B and the last [SEP]; 0
      on padding;
    * ``attention_mask`` (B, T): 1 on tokens, 0 on padding;
    * ``labels`` (B, T): the original id at masked-LM positions, -100 elsewhere;
    * ``next_sentence_label`` (B,): **0 = IsNext, 1 = NotNext** (the convention of Google's script
      and HF's ``BertForPreTraining``, i.e. ``1 - is_next``), -100 for masked-LM-only examples.

    Each call draws new masks from the collator's own generator (seeded once), so epochs see
    different masks but a run is reproducible.
    """

    def __init__(
        self,
        cls_id: int,
        sep_id: int,
        pad_id: int,
        mask_id: int,
        vocab_size: int,
        mlm_prob: float = 0.15,
        seed: int = 0,
        first_non_special_id: int = 0,
        max_len: int | None = None,
        generator: torch.Generator | None = None,
    ):
        self.cls_id, self.sep_id, self.pad_id, self.mask_id = cls_id, sep_id, pad_id, mask_id
        self.vocab_size, self.mlm_prob, self.max_len = vocab_size, mlm_prob, max_len
        self.first_non_special_id = first_non_special_id
        self.generator = generator if generator is not None else torch.Generator().manual_seed(seed)

    def mask(self, input_ids: torch.LongTensor,
             special: torch.BoolTensor) -> tuple[torch.LongTensor, torch.LongTensor]:
        """(masked ids, labels) of a (B, T) batch: BERT's rule, :func:`mask_tokens`."""
        return mask_tokens(input_ids, special, self.vocab_size, self.mask_id, self.generator,
                           self.mlm_prob, self.first_non_special_id)

    def __call__(self, examples: Sequence[PretrainingExample]) -> dict[str, torch.Tensor]:
        rows, types, seps = [], [], []
        for ex in examples:
            ids = [self.cls_id, *ex.tokens_a, self.sep_id]
            seg = [0] * len(ids)
            if ex.tokens_b:
                ids += [*ex.tokens_b, self.sep_id]
                seg += [1] * (len(ex.tokens_b) + 1)
            if self.max_len is not None and len(ids) > self.max_len:
                raise ValueError(f"example of {len(ids)} tokens is longer than "
                                 f"max_len={self.max_len}")
            rows.append(ids)
            types.append(seg)
            seps.append((len(ex.tokens_a) + 1, len(ids) - 1))
        width = max(len(r) for r in rows)
        input_ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        token_type_ids = torch.zeros((len(rows), width), dtype=torch.long)
        attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
        special = torch.ones((len(rows), width), dtype=torch.bool)  # [CLS], [SEP]s and padding
        for r, (ids, seg) in enumerate(zip(rows, types)):
            input_ids[r, : len(ids)] = torch.tensor(ids)
            token_type_ids[r, : len(seg)] = torch.tensor(seg)
            attention_mask[r, : len(ids)] = 1
            special[r, 1 : len(ids) - 1] = False
            special[r, list(seps[r])] = True
        masked, labels = self.mask(input_ids, special)
        nsp = [IGNORE_INDEX if ex.is_next == IGNORE_INDEX else 1 - ex.is_next for ex in examples]
        return {
            "input_ids": masked,
            "token_type_ids": token_type_ids,
            "attention_mask": attention_mask,
            "labels": labels,
            "next_sentence_label": torch.tensor(nsp, dtype=torch.long),
        }


class LengthGroupedBatches:
    """A batch sampler that puts examples of similar length together, so batches carry little
    padding.

    Each epoch shuffles the indices, cuts them into pools of ``pool`` batches, sorts each pool by
    length, slices it into batches and shuffles the batches: random order, yet a 25-token tweet
    rarely shares a batch with a 128-token pair (``transformers``' group_by_length does the same).
    Pass it to a ``DataLoader`` as ``batch_sampler``.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int = 0, pool: int = 50):
        self.lengths, self.batch_size, self.pool = list(lengths), batch_size, pool
        self.rng = random.Random(seed)

    def __len__(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        order = list(range(len(self.lengths)))
        self.rng.shuffle(order)
        span = self.batch_size * self.pool
        batches = []
        for start in range(0, len(order), span):
            chunk = sorted(order[start:start + span], key=self.lengths.__getitem__)
            batches += [chunk[i:i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        self.rng.shuffle(batches)
        return iter(batches)
