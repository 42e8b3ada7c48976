"""Speed of bertcore's BERT against Hugging Face ``transformers`` on the same weights, on CPU.

BERT-base sized (Devlin et al. 2019, arXiv:1810.04805: L=12, D=768, H=12, I=3072, V=30522), random
weights, batch 1, 32 and 128 tokens, two threads for both, ``torch.inference_mode``, warm-up
first, then the median of repeated forwards (ours and HF's alternating):

* ``fast``: bertcore's fast path (fused SDPA attention) against HF's ``sdpa`` BertModel;
* ``explained``: bertcore's explained path (every intermediate kept) against HF's ``eager``
  BertModel with ``output_attentions=True, output_hidden_states=True`` (the closest HF has).

Goals: fast <= 1.0x HF, explained <= 1.2x HF. Run: ``.venv/bin/python -m benchmarks.bench_model``.
"""

from __future__ import annotations

import copy
import statistics
import time

import torch

from bertcore.config import BertConfig
from bertcore.model import BertModel

THREADS = 2
SEQ_LENS = (32, 128)
GOALS = {"fast": 1.0, "explained": 1.2}


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _medians(ours_fn, ref_fn, repeats: int, warmup: int = 3) -> tuple[float, float]:
    """Median seconds of each; the two alternate so that other processes' load hits both alike."""
    for _ in range(warmup):
        ours_fn()
        ref_fn()
    ours, ref = [], []
    for _ in range(repeats):
        ours.append(_timed(ours_fn))
        ref.append(_timed(ref_fn))
    return statistics.median(ours), statistics.median(ref)


def _models(config: BertConfig):
    import transformers

    hf_config = transformers.BertConfig(
        vocab_size=config.vocab_size, hidden_size=config.hidden_size,
        num_hidden_layers=config.num_hidden_layers, num_attention_heads=config.num_attention_heads,
        intermediate_size=config.intermediate_size,
    )
    # _from_config mutates the config it gets, hence the copies.
    hf_sdpa = transformers.BertModel._from_config(copy.deepcopy(hf_config),
                                                  attn_implementation="sdpa")
    hf_eager = transformers.BertModel._from_config(copy.deepcopy(hf_config),
                                                   attn_implementation="eager")
    hf_eager.load_state_dict(hf_sdpa.state_dict())
    ours = BertModel(config)
    ours.load_state_dict(hf_sdpa.state_dict())
    return ours.eval(), hf_sdpa.eval(), hf_eager.eval()


def run(seq_lens=SEQ_LENS, repeats: int = 15) -> list[dict]:
    """Time both paths against HF; one row per (path, length): name, ours_s, ref_s, ratio, unit."""
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    try:
        config = BertConfig()  # BERT-base: L=12, D=768, H=12, I=3072, V=30522
        ours, hf_sdpa, hf_eager = _models(config)
        rows = []
        with torch.inference_mode():
            for T in seq_lens:
                ids = torch.randint(1000, config.vocab_size, (1, T))
                ids[0, 0] = 101  # [CLS]
                mask = torch.ones_like(ids)
                types = torch.zeros_like(ids)
                cases = {
                    "fast": (lambda: ours(ids, types, mask),
                             lambda: hf_sdpa(input_ids=ids, token_type_ids=types,
                                             attention_mask=mask)),
                    "explained": (lambda: ours(ids, types, mask, explain=True),
                                  lambda: hf_eager(input_ids=ids, token_type_ids=types,
                                                   attention_mask=mask, output_attentions=True,
                                                   output_hidden_states=True)),
                }
                for path, (ours_fn, ref_fn) in cases.items():
                    ours_s, ref_s = _medians(ours_fn, ref_fn, repeats)
                    rows.append({"name": f"{path} B=1 T={T}", "ours_s": ours_s, "ref_s": ref_s,
                                 "ratio": ours_s / ref_s, "unit": "s",
                                 "goal": f"<= {GOALS[path]}x"})
        return rows
    finally:
        torch.set_num_threads(previous_threads)


if __name__ == "__main__":
    for row in run():
        verdict = "ok" if row["ratio"] <= GOALS[row["name"].split()[0]] else "MISSED"
        print(f"{row['name']:<22} ours {row['ours_s'] * 1e3:8.2f} ms   "
              f"HF {row['ref_s'] * 1e3:8.2f} ms   ratio {row['ratio']:.3f} "
              f"(goal {row['goal']}) {verdict}")
