"""The class: one teacher's view followed live by the students' phones, with questions to answer.

A class (a "room", issue 19) only carries view state and answers between browser sessions, never
tensors: each session still runs its own pages on its own server's model.

- :mod:`ui.classroom.store`: the rules (codes, tokens, limits, expiry) and the one interface the
  two stores implement; :func:`ui.classroom.store.open_store` picks one from ``$BERTLAB_STORE``.
- :mod:`ui.classroom.sqlite_store`: one server (a file, survives a restart).
- :mod:`ui.classroom.redis_store`: several servers behind a load balancer share one Redis.
- :mod:`ui.classroom.session`: this browser session's membership, the sidebar's "Class" section,
  publishing the teacher's view and following it.
- :mod:`ui.classroom.questions`: the class questions panel (ask, answer, reveal).
"""
