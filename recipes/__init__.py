"""The workshop beside the teaching package: what only rebuilds BERT Lab's shipped offline models.

* ``corpora``  the English text the offline model was pre-trained on, beyond what the app reads;
* ``pretrain`` the two recipes (``python -m recipes.pretrain en|zh --out DIR``) and their clozes;
* ``export``   what ships from a run into ``bertcore/offline/``, with its manifest;
* ``NOTES.md`` the lab notebook: every stage tried, its numbers, and why it shipped or not.

The app never imports this folder; ``bertcore`` holds the concepts the recipes use (the data, the
masking rule, the loss, the evaluation, the training loop).
"""
