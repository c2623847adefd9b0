"""A second opinion on a song: the tags a pretrained musicnn network was trained to give (genre, mood, voice and
instruments, era), averaged over the song's windows. Not a GenreLens genre prediction: the network's own words."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genre_core import audio, features
from genre_core.config import LOG_MEL
from genre_core.musicnn import FEATURES, MSD_TAG_KINDS, TRUNKS

#: The tagger of the second opinion: musicnn tags real tracks more aptly than the VGG under the real-music CNN
#: (measured on GTZAN tracks: metal → rock, metal, punk, heavy metal; the VGG: rock, electronic, experimental).
DEFAULT_TAGGER = "msd_musicnn"


@dataclass(frozen=True)
class SongTags:
    """Tag probabilities of one song from one pretrained network.

    - ``tags``: (50,) tag names, ``kinds``: (50,) what each describes (`MSD_TAG_KINDS`; "other" for MTT tags)
    - ``probabilities``: (50,) float32 in [0, 1], each tag's sigmoid averaged over the windows (tags are not
      exclusive: they need not sum to 1)
    - ``windows``: how many 2.984 s windows were tagged
    """

    trunk: str
    collection: str
    tags: tuple[str, ...]
    kinds: tuple[str, ...]
    probabilities: np.ndarray
    windows: int

    def top(self, k: int = 10, kind: str | None = None) -> list[tuple[str, str, float]]:
        """The ``k`` most probable tags (of ``kind`` when given) as (tag, kind, probability), best first."""
        order = np.argsort(-self.probabilities, kind="stable")
        chosen = [i for i in order if kind is None or self.kinds[i] == kind][:k]
        return [(self.tags[i], self.kinds[i], float(self.probabilities[i])) for i in chosen]


def tag_song(samples: np.ndarray, trunk: str = DEFAULT_TAGGER, *, tagger=None, name: str = "audio") -> SongTags:
    """`SongTags` of mono ``samples`` at 16 kHz (`genre_core.musicnn.SAMPLE_RATE`). ``tagger``: the loaded
    network of ``trunk`` (`genre_core.transfer.load_tagger`), loaded here when None."""
    windows = audio.segment_audio(samples, FEATURES, name=name)
    return tag_patches(features.segment_features(windows, FEATURES, [LOG_MEL])[LOG_MEL], trunk, tagger=tagger)


def tag_patches(patches: np.ndarray, trunk: str = DEFAULT_TAGGER, *, tagger=None) -> SongTags:
    """`SongTags` of a song's musicnn input windows ``patches`` (windows, 96, 187), as `FEATURES` computes them
    (a transfer CNN's prediction holds them already)."""
    from genre_core.transfer import load_tagger

    spec = TRUNKS[trunk]
    model = tagger if tagger is not None else load_tagger(spec)
    inputs = np.asarray(patches, dtype=np.float32)[..., np.newaxis]
    probabilities = np.asarray(model.predict(inputs, batch_size=32, verbose=0), dtype=np.float32).mean(axis=0)
    return SongTags(
        trunk=spec.name,
        collection=spec.collection,
        tags=spec.tags,
        kinds=tuple(MSD_TAG_KINDS.get(tag, "other") for tag in spec.tags),
        probabilities=probabilities,
        windows=len(inputs),
    )
