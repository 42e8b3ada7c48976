"""Hugging Face data sets by name: the task is read from the columns, errors say what is wrong.

The hub is unreachable here, so each set is written as a local data set folder (parquet files
with the ``datasets`` features in their metadata, as hub repos hold them) and loaded through the
same ``datasets.load_dataset`` call a hub id takes.
"""

from __future__ import annotations

import pytest

from bertcore import tasks
from bertcore.tasks import DataError

from datasets import ClassLabel, Features, Sequence, Value

from conftest import write_dataset_folder

pytestmark = pytest.mark.usefixtures("hub_offline")


def _folder(tmp_path, rows: dict, features: Features) -> str:
    return write_dataset_folder(tmp_path / "set", rows, features)


def test_classification_keeps_the_class_names_and_drops_hidden_labels(tmp_path):
    n = 60
    rows = {"sentence": [f"review number {i}" for i in range(n)] + ["", "hidden"],
            "label": [i % 3 for i in range(n)] + [1, -1], "idx": list(range(n + 2))}
    feats = Features({"sentence": Value("string"),
                      "label": ClassLabel(names=["neg", "neutral", "pos"]), "idx": Value("int32")})
    data = tasks.from_hub(_folder(tmp_path, rows, feats))
    assert data.task == "classification" and data.labels == ["neg", "neutral", "pos"]
    assert sum(data.sizes.values()) == n  # the empty text and the hidden (-1) label are gone
    every = data.train + data.validation + data.test
    assert {(e.text, data.labels[e.label]) for e in every} == {
        (f"review number {i}", ["neg", "neutral", "pos"][i % 3]) for i in range(n)}
    assert any("2 rows without a text or label dropped" in note for note in data.notes)


def test_large_sets_are_cut_to_a_random_sample(tmp_path):
    rows = {"text": [f"t{i}" for i in range(200)], "label": [int(i >= 100) for i in range(200)]}
    folder = _folder(tmp_path, rows, Features({"text": Value("string"), "label": Value("int64")}))
    data = tasks.from_hub(folder, max_rows=50)
    assert sum(data.sizes.values()) == 50
    labels = [e.label for e in data.train + data.validation + data.test]
    assert 0 < sum(labels) < 50  # a random sample, not the first 50 rows (all one class)
    assert data.labels == ["0", "1"]


def test_ner_from_tokens_and_ner_tags(tmp_path):
    names = ["O", "B-PER", "I-PER", "B-LOC"]
    rows = {"tokens": [["John", "Smith", "visited", "Paris", "."]] * 20,
            "ner_tags": [[1, 2, 0, 3, 0]] * 20, "pos_tags": [[0] * 5] * 20}
    feats = Features({"tokens": Sequence(Value("string")),
                      "ner_tags": Sequence(ClassLabel(names=names)),
                      "pos_tags": Sequence(Value("int32"))})
    data = tasks.from_hub(_folder(tmp_path, rows, feats))
    assert data.task == "ner" and data.labels == names
    assert data.train[0].chars == ["John", "Smith", "visited", "Paris", "."]
    assert data.train[0].tags == [1, 2, 0, 3, 0]


def test_squad_columns_make_a_qa_set(tmp_path):
    ctx = "The Eiffel Tower is in Paris."
    rows = {"id": [str(i) for i in range(15)], "context": [ctx] * 15,
            "question": ["Where is the tower?"] * 15,
            "answers": [{"text": ["Paris"], "answer_start": [ctx.index("Paris")]}] * 14
                       + [{"text": [], "answer_start": []}]}
    feats = Features({"id": Value("string"), "context": Value("string"),
                      "question": Value("string"),
                      "answers": {"text": Sequence(Value("string")),
                                  "answer_start": Sequence(Value("int32"))}})
    data = tasks.from_hub(_folder(tmp_path, rows, feats))
    assert data.task == "qa" and sum(data.sizes.values()) == 14  # the unanswerable one skipped
    ex = data.train[0]
    assert ex.context[ex.start:ex.start + len(ex.answer)] == "Paris"


def test_columns_that_fit_no_task_are_named(tmp_path):
    folder = _folder(tmp_path, {"a": ["x"] * 12, "b": [1] * 12},
                     Features({"a": Value("string"), "b": Value("int64")}))
    with pytest.raises(DataError) as e:
        tasks.from_hub(folder)
    assert e.value.code == "hub_columns" and "a, b" in str(e.value)


def test_offline_and_unknown_names_say_so():
    with pytest.raises(DataError) as e:
        tasks.from_hub("someone/no-such-set-here")
    assert e.value.code == "hub_offline" and "network once" in str(e.value)
    with pytest.raises(DataError) as e:
        tasks.load("hub:imdb")  # the CLI's spelling goes the same way
    assert e.value.code == "hub_offline"
