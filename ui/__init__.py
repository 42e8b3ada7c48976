"""BERT Lab's user-interface helpers, shared by app.py and every page.

* ``i18n``  every string a user reads (``t("key")``), from one ``locales/<lang>.toml`` per
  language (English and Chinese);
* ``state`` the view (sentence, pair, model, layer, head, masks, presenter mode) kept in the session
  and mirrored in the URL, so a link reopens exactly the same view;
* ``models`` the model registry: loaded models (``st.cache_resource``), shared by every session,
  and the encodings and explanations several pages draw;
* ``jobs`` the training-job runner: a session's fine-tuning run in a background thread;
* ``charts`` plotly figures and small HTML builders, pure functions of arrays and labels;
* ``bidi`` right-to-left text in token views (which tokens read right to left, in which runs);
* ``word_table`` a table of words shaded by probability (the layer-by-layer guesses);
* ``bertviz_view`` bertviz's head and model views with their JavaScript served locally.

Each page keeps its own cached views. Nothing here does tensor math: that lives in ``bertcore``.
"""
