"""The pretrained network's own tags of a song: real GTZAN tracks get the tags a listener would give, tags are
grouped by kind, and a song too short for one window is a one-line error."""

from __future__ import annotations

import numpy as np
import pytest

from genre_core import musicnn
from genre_core.audio import load_audio
from genre_core.errors import InputError
from genre_core.musicnn.tagging import DEFAULT_TAGGER, tag_song
from genre_core.song_figures import tag_figure


@pytest.fixture(scope="module")
def tagger():
    from genre_core.transfer import load_tagger

    return load_tagger(DEFAULT_TAGGER)


@pytest.mark.parametrize(
    ("track", "expected"),
    [("metal/metal.00001.wav", {"metal", "heavy metal"}), ("classical/classical.00000.wav", {"instrumental"}),
     ("hiphop/hiphop.00002.wav", {"Hip-Hop"}), ("jazz/jazz.00001.wav", {"jazz"})],
)
def test_real_tracks_get_the_tags_a_listener_would_give(gtzan_mini, tagger, track, expected):
    samples = load_audio(gtzan_mini / track, musicnn.SAMPLE_RATE)
    tags = tag_song(samples, DEFAULT_TAGGER, tagger=tagger)
    assert tags.windows == 10 and tags.probabilities.shape == (50,)
    assert np.all((tags.probabilities >= 0) & (tags.probabilities <= 1))
    top = {tag for tag, _, _ in tags.top(5)}
    assert top & expected, top
    assert all(kind == "genre" for _, kind, _ in tags.top(3, "genre"))


def test_tag_figure_groups_the_best_tags_by_kind(gtzan_mini, tagger):
    samples = load_audio(gtzan_mini / "metal/metal.00001.wav", musicnn.SAMPLE_RATE)
    tags = tag_song(samples, DEFAULT_TAGGER, tagger=tagger)
    figure = tag_figure(tags, per_kind=3)
    kinds = [trace.name for trace in figure.data]
    assert kinds == ["genre", "mood", "voice and instruments", "era"]
    assert all(len(trace.x) == 3 for trace in figure.data)
    genre_bars = dict(zip(figure.data[0].y, figure.data[0].x, strict=True))
    assert max(genre_bars, key=genre_bars.get) == tags.top(1, "genre")[0][0]


def test_a_song_shorter_than_one_window_is_refused(tagger):
    with pytest.raises(InputError, match="too short"):
        tag_song(np.ones(8000, dtype=np.float32) * 0.1, DEFAULT_TAGGER, tagger=tagger, name="tiny.wav")
