"""ui.window: which tokens a windowed view shows."""

from ui.window import start_for


def test_the_window_stays_inside_the_input_and_follows_its_focus():
    assert start_for(512, 32, 0) == 0
    assert start_for(512, 32, 600) == 480  # clamped: the last 32 tokens
    assert start_for(512, 32, -5) == 0
    assert start_for(20, 32, 7) == 0  # shorter than a window
    assert start_for(512, 32, 100, focus=110) == 100  # the focus is already shown
    assert start_for(512, 32, 0, focus=300) == 292  # a quarter of the way in
    assert start_for(512, 32, 0, focus=510) == 480
    assert start_for(512, 32, 0, focus=3) == 0
