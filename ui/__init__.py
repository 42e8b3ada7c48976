"""BERT Lab's user-interface helpers, shared by app.py and every page.

* ``i18n``  every string a user reads (``t("key")``), from one ``locales/<lang>.toml`` per
  language (English and Chinese);
* ``state`` the view (sentence, pair, model, layer, head, masks, presenter mode) kept in the session
  and mirrored in the URL, so a link reopens exactly the same view;
* ``cache`` loaded models (``st.cache_resource``) and per-sentence results (``st.cache_data``);
* ``charts`` plotly figures and small HTML builders, pure functions of arrays and labels.

Nothing here does tensor math: that lives in ``bertcore`` (``bertcore.lab`` for the app's helpers).
"""
