"""Registry of model presets, all built with the Keras functional API (builders: `genre_core.model_builders`).

Every model takes one input named ``features`` (see the array conventions in docs/architecture.md:
summary ``(57,)``, log-mel ``(n_mels, frames, 1)``, MFCC ``(frames, n_mfcc)``) and ends in a Dense layer
``logits`` (no activation) followed by an Activation layer ``probabilities``, softmax or, for a binary task,
one sigmoid unit; `genre_core.model_heads` reads either head as one column per class.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras

from genre_core import model_builders, musicnn
from genre_core.config import LOG_MEL, MFCC, SUMMARY, FeatureConfig
from genre_core.errors import InputError
from genre_core.musicnn import TRUNKS
from genre_core.train_choices import SOFTMAX


#: Rank of one model input (without the batch axis) for each feature kind.
INPUT_RANKS = {SUMMARY: 1, LOG_MEL: 3, MFCC: 2}

Builder = Callable[..., keras.Model]


@dataclass(frozen=True)
class Preset:
    """A named architecture: what it is, where the idea comes from, what it eats, how it is built.

    ``builder(input_shape, n_classes, **hyper)`` receives the full hyper-parameter set (defaults overlaid
    with the caller's values) and returns an uncompiled functional ``keras.Model`` named after the preset.
    """

    name: str
    description: str  #: one line for the app
    source: str  #: one line: the paper, tutorial or course the design follows
    feature_kind: str  #: one of config.SUMMARY, config.LOG_MEL, config.MFCC
    default_hyper: dict[str, Any]
    builder: Builder
    #: Feature settings the preset needs (a pretrained network's input); None: any, the dataset's own.
    features: FeatureConfig | None = None
    #: Transfer presets: the hyper-parameter ``trainable_from`` names the first trained layer; the layers before
    #: keep their pretrained weights, and training runs on their cached output (`genre_core.transfer`).
    transfer: bool = False
    #: Inputs are standardised with statistics of the training rows (a pretrained trunk brings its own).
    standardize: bool = True


def _transfer_preset(name: str, trunk: str, trainable_from: str, what: str) -> Preset:
    spec = TRUNKS[trunk]
    return Preset(
        name=name,
        description=what,
        source=f"J. Pons & X. Serra 2019, musicnn ({spec.checkpoint}, trained on the {spec.collection}); ISC licence.",
        feature_kind=LOG_MEL,
        default_hyper={"trunk": trunk, "trainable_from": trainable_from, "dropout": 0.5},
        builder=functools.partial(model_builders.build_transfer, preset=name),
        features=musicnn.FEATURES,
        transfer=True,
        standardize=False,
    )


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="ffn_mfcc",
            description="Dense network on the 57 summary features (MFCC, chroma, spectral statistics) of a clip.",
            source="Kaggle GTZAN features_30_sec.csv notebooks: a feed-forward net on the summary table.",
            feature_kind=SUMMARY,
            default_hyper={
                "hidden": [128, 128, 32],
                "activation": "relu",
                "dropout": 0.2,
                "batch_norm": False,
                "l2": 0.0,
            },
            builder=functools.partial(model_builders.build_mlp, preset="ffn_mfcc"),
        ),
        Preset(
            name="mlp_mfcc_seq",
            description="Dense network 512-256-64 on the flattened MFCC matrix (frames x coefficients).",
            source="V. Velardo, 'Deep Learning (for Audio) with Python': MLP genre classifier on MFCC segments.",
            feature_kind=MFCC,
            default_hyper={
                "hidden": [512, 256, 64],
                "activation": "relu",
                "dropout": 0.3,
                "batch_norm": False,
                "l2": 0.001,
            },
            builder=functools.partial(model_builders.build_mlp, preset="mlp_mfcc_seq"),
        ),
        Preset(
            name="cnn_small",
            description="Small CNN: 4-8-16 channel 5x5 conv/max-pool blocks on a log-mel segment, Dense 50.",
            source="Course assignment CNN on 3 s log-mel segments of GTZAN.",
            feature_kind=LOG_MEL,
            default_hyper={
                "filters": [4, 8, 16],
                "kernel_size": 5,
                "dense": [50],
                "l2": 0.01,
                "activation": "relu",
                "dropout": 0.0,
                "batch_norm": False,
            },
            builder=model_builders.build_cnn_small,
        ),
        Preset(
            name="cnn_bn",
            description="Three 32-channel conv blocks with batch norm, then Dense 128-64-32 with dropout.",
            source="V. Velardo, 'Deep Learning (for Audio) with Python': CNN genre classifier with batch norm.",
            feature_kind=LOG_MEL,
            default_hyper={
                "filters": [32, 32, 32],
                "kernel_size": 3,
                "dense": [128, 64, 32],
                "dropout": 0.3,
                "l2": 0.001,
                "activation": "relu",
            },
            builder=functools.partial(model_builders.build_conv_stack, preset="cnn_bn", pool_padding="same",
                                      conv_batch_norm=True, dense_batch_norm=False),
        ),
        Preset(
            name="cnn_timefreq",
            description="Parallel time (1x7) and frequency (7x1) conv branches, each pooling one axis only.",
            source="J. Pons et al. 2016, 'Experimenting with musically motivated convolutional neural networks'.",
            feature_kind=LOG_MEL,
            default_hyper={
                "filters": [16, 32],
                "time_kernel": 7,
                "freq_kernel": 7,
                "dense": [64],
                "dropout": 0.3,
                "activation": "relu",
            },
            builder=model_builders.build_cnn_timefreq,
        ),
        Preset(
            name="lstm_mfcc",
            description="Two LSTM(64) layers over the MFCC sequence, then Dense 64 and dropout.",
            source="V. Velardo, 'Deep Learning (for Audio) with Python': RNN-LSTM genre classifier on MFCCs.",
            feature_kind=MFCC,
            default_hyper={"units": [64, 64], "dense": [64], "dropout": 0.3},
            builder=model_builders.build_lstm_mfcc,
        ),
        _transfer_preset("transfer_musicnn", "msd_musicnn", "head_dropout",
                         "Pretrained musicnn (frozen) + a new genre layer on its 200-value embedding: transfer learning."),
        _transfer_preset("finetune_musicnn", "msd_musicnn", "pool_bn",
                         "Pretrained musicnn with its last dense block trained again, plus a new genre layer."),
        _transfer_preset("transfer_vgg", "msd_vgg", "head_dropout",
                         "Pretrained VGG (five 128-filter conv blocks, frozen) + a new genre layer on its embedding."),
        _transfer_preset("finetune_vgg", "msd_vgg", "block5_conv",
                         "Pretrained VGG with its last conv block trained again, plus a new genre layer."),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; InputError listing the known names otherwise."""
    if name not in PRESETS:
        raise InputError(f"preset '{name}'", f"unknown preset; known: {', '.join(PRESETS)}")
    return PRESETS[name]


def check_hyper(preset: str, hyper: dict[str, Any]) -> None:
    """InputError when ``hyper`` names a hyper-parameter that ``preset`` does not have."""
    unknown = set(hyper) - set(get_preset(preset).default_hyper)
    if unknown:
        known = ", ".join(get_preset(preset).default_hyper)
        raise InputError(f"preset '{preset}'", f"unknown hyper-parameter(s) {sorted(unknown)}; known: {known}")


def build_model(
    preset: str, input_shape: tuple[int, ...], n_classes: int, *, output: str = SOFTMAX, **hyper: Any
) -> keras.Model:
    """Build the uncompiled functional model of ``preset``.

    ``input_shape`` excludes the batch axis: summary ``(57,)``, log-mel ``(n_mels, frames, 1)``, MFCC
    ``(frames, n_mfcc)``. ``hyper`` overrides the preset's ``default_hyper``. The model maps
    ``(batch, *input_shape)`` to softmax probabilities ``(batch, n_classes)``, or with ``output="sigmoid"``
    (2 classes) to P(class 1) ``(batch, 1)``. Unknown presets or hyper-parameters, bad values and unusable
    shapes raise InputError.
    """
    spec = get_preset(preset)
    check_hyper(preset, hyper)
    shape = tuple(int(size) for size in input_shape)
    rank = INPUT_RANKS[spec.feature_kind]
    if len(shape) != rank or min(shape) < 1 or (spec.feature_kind == LOG_MEL and shape[-1] != 1):
        expected = {SUMMARY: "(n_features,)", LOG_MEL: "(n_mels, frames, 1)", MFCC: "(frames, n_mfcc)"}
        raise InputError(f"preset '{preset}'", f"input shape {shape} is not {expected[spec.feature_kind]}")
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 2:
        raise InputError(f"preset '{preset}'", f"needs at least 2 classes, got {n_classes!r}")
    return spec.builder(shape, n_classes, output=output, **{**spec.default_hyper, **hyper})
