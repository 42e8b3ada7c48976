"""The run-time corpus readers (bertcore/corpora.py) on small files written here."""

from __future__ import annotations

import json

from bertcore import corpora


def test_chitchat_joins_each_turn_and_keeps_a_conversation_in_order(tmp_path, monkeypatch):
    chats = {"c1": {"prompt": "What did you eat?", "messages": [
        [{"text": "Hi!"}, {"text": "I had pizza for"}, {"text": "dinner. It was cold -"},
         {"text": "but good - really."}],
        [{"text": "Nice. I cooked rice"}]]},
        "c2": {"prompt": "?", "messages": [[{"text": "   "}]]}}  # nothing said: no document
    (tmp_path / "dataset.json").write_text(json.dumps(chats), encoding="utf-8")
    monkeypatch.setattr(corpora, "package_file", lambda package, *parts: tmp_path.joinpath(*parts))
    docs = corpora.chitchat_documents()
    assert docs == [["Hi!", "I had pizza for dinner.", "It was cold but good - really.", "Nice.",
                    "I cooked rice"]]
    assert (docs[0].source, docs[0].title) == ("chitchat", "chitchat-c1")
