"""Keras 3 ports of the pretrained musicnn networks (Pons & Serra, ISC licence, Music Technology Group,
Universitat Pompeu Fabra): their input features, architectures, tag vocabularies and checkpoint conversion.

The original code (``musicnn`` 0.1.0, TensorFlow 1 layers) is never imported: `convert` reads the TF1
checkpoints shipped in its wheel and writes ``.keras`` files (`assets/pretrained/`), which load in safe mode.
docs/musicnn-port.md says how the port was checked against the original code.
"""

from __future__ import annotations

from dataclasses import dataclass

from genre_core.config import LOG_1P_10000, FeatureConfig

SAMPLE_RATE = 16000  #: Hz, the rate the networks were trained at
N_MELS = 96  #: mel bands of their input
PATCH_FRAMES = 187  #: frames of one input patch (3 s at hop 256)

#: The musicnn input as a `FeatureConfig`: 16 kHz, n_fft 512, hop 256, 96 mel bands, zero-padded centred STFT,
#: ``log10(1 + 10000·mel)`` in float16; a 30 s track gives 10 windows of 2.984 s (47744 samples = 187 frames).
FEATURES = FeatureConfig(
    sample_rate=SAMPLE_RATE,
    track_seconds=29.84,
    segments_per_track=10,
    n_fft=512,
    hop_length=256,
    n_mels=N_MELS,
    log_scale=LOG_1P_10000,
    stft_padding="constant",
)

#: The 50 tags each network was trained to predict (musicnn/configuration.py), by training collection.
MSD_TAGS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s", "alternative rock",
    "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul", "indie rock", "Mellow",
    "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies", "blues", "hard rock", "ambient",
    "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop", "70s", "party", "country", "easy listening",
    "sexy", "catchy", "funk", "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad",
    "House", "happy",
)
MTT_TAGS = (
    "guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano", "ambient",
    "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing", "vocals", "no vocals",
    "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop", "soft", "sitar", "solo",
    "man", "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal", "beats", "harp", "cello",
    "no voice", "weird", "country", "metal", "female voice", "choral",
)

#: What each MSD tag describes, for grouping them in charts: genre, mood, voice and instruments, or era.
MSD_TAG_KINDS = {
    **dict.fromkeys(("rock", "pop", "alternative", "indie", "electronic", "dance", "alternative rock", "jazz",
                     "metal", "chillout", "classic rock", "soul", "indie rock", "electronica", "folk", "punk",
                     "blues", "hard rock", "ambient", "experimental", "Hip-Hop", "country", "easy listening",
                     "funk", "electro", "heavy metal", "Progressive rock", "rnb", "indie pop", "House"), "genre"),
    **dict.fromkeys(("beautiful", "Mellow", "chill", "sexy", "catchy", "sad", "happy", "party"), "mood"),
    **dict.fromkeys(("female vocalists", "male vocalists", "female vocalist", "instrumental", "acoustic",
                     "guitar"), "voice and instruments"),
    **dict.fromkeys(("00s", "80s", "90s", "70s", "60s", "oldies"), "era"),
}


@dataclass(frozen=True)
class Trunk:
    """One pretrained network: its checkpoint folder in the musicnn wheel, architecture and vocabulary.

    ``embedding_layer``: the layer whose output is the network's summary of a patch (the input of the
    transfer heads); ``finetune_from``: the first layer of the last block, trained again when fine-tuning.
    """

    name: str  #: GenreLens name, also the file name in assets/pretrained/ (``<name>.keras``)
    checkpoint: str  #: folder in the musicnn wheel
    architecture: str  #: "musicnn" or "vgg"
    tags: tuple[str, ...]
    collection: str  #: what it was trained on, for captions
    embedding_layer: str
    finetune_from: str

    @property
    def file_name(self) -> str:
        return f"{self.name}.keras"


TRUNKS: dict[str, Trunk] = {
    trunk.name: trunk
    for trunk in (
        Trunk("msd_musicnn", "MSD_musicnn", "musicnn", MSD_TAGS, "Million Song Dataset (50 Last.fm tags)",
              "penultimate", "pool_bn"),
        Trunk("msd_vgg", "MSD_vgg", "vgg", MSD_TAGS, "Million Song Dataset (50 Last.fm tags)",
              "embedding", "block5_conv"),
        Trunk("mtt_musicnn", "MTT_musicnn", "musicnn", MTT_TAGS, "MagnaTagATune (50 tags)",
              "penultimate", "pool_bn"),
        Trunk("mtt_vgg", "MTT_vgg", "vgg", MTT_TAGS, "MagnaTagATune (50 tags)", "embedding", "block5_conv"),
    )
}
