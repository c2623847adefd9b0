"""The Train page's settings: the model family and preset (those the active dataset can feed), every setting the
preset declares (`genre_core.hyper_settings`), the optimiser and schedule, batch size, epochs, early stopping and
output head, and the split protocol with its folder. Thin: it turns widgets into `TrainConfig` arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import streamlit as st

from genre_core import bundle_info, hyper_settings, paths, splits
from genre_core.config import LOG_MEL, MFCC, SUMMARY
from genre_core.dataset import Dataset
from genre_core.errors import InputError
from genre_core.train_choices import OPTIMIZERS, SCHEDULES
from pages import common

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

    from genre_core.models import Preset

#: The published artist-filtered GTZAN split beside the checkout, offered as the default split folder.
DEFAULT_SPLIT_DIR = paths.ARTIST_SPLIT_DIR
FAMILY_KINDS = {bundle_info.FFN: (SUMMARY, MFCC), bundle_info.CNN: (LOG_MEL,)}
FAMILY_LABELS = {
    bundle_info.FFN: "FFN: feature models (summary table, MFCC)",
    bundle_info.CNN: "CNN: spectrogram models (log-mel)",
}
GROUPED, ARTIST_FILTERED, LEAKY, PREDEFINED = splits.PROTOCOLS
PROTOCOL_LABELS = {
    GROUPED: "Grouped by track (recommended)",
    ARTIST_FILTERED: "Artist-filtered GTZAN fold",
    LEAKY: "Leaky segment split (demonstration only)",
    PREDEFINED: "As the source came split",
}


@st.cache_resource(show_spinner="Loading TensorFlow…")
def preset_registry() -> dict[str, Preset]:
    """The preset registry (importing it loads TensorFlow, once per process)."""
    from genre_core import models

    return dict(models.PRESETS)


def choose_preset(dataset: Dataset) -> Preset | None:
    """Family and preset (those whose feature kind the dataset holds), with the preset's description."""
    family = st.radio("Model family", list(FAMILY_KINDS), format_func=FAMILY_LABELS.get, horizontal=True,
                      key="train.family")
    kinds = [kind for kind in FAMILY_KINDS[family] if kind in dataset.features]
    presets = [preset for preset in preset_registry().values() if preset.feature_kind in kinds]
    if not common.active_dataset_spec().has_audio:
        transfer = [preset.name for preset in presets if preset.features is not None]
        presets = [preset for preset in presets if preset.features is None]
        if transfer:
            st.caption(f"Not offered here: {', '.join(transfer)}. They reuse a pretrained network that needs its own "
                       "input computed from the audio, and this dataset holds features only.")
    if not presets:
        held = ", ".join(dataset.features)
        st.info(f"The active dataset holds only {held} features, none of which a {family} preset eats: "
                "choose the other family, or load an audio dataset on the Data page.")
        return None
    preset = st.selectbox("Preset", presets, format_func=lambda p: f"{p.name} ({p.feature_kind})",
                          key=f"train.preset.{family}")
    st.caption(f"{preset.description}  \nSource: {preset.source}")
    if preset.features is not None:
        config = preset.features
        st.info(f"Transfer learning: this preset reuses a pretrained network, so the songs are read the way it was "
                f"trained: {config.sample_rate // 1000} kHz, {config.n_mels} mel bands, windows of "
                f"{config.segment_seconds:.3f} s ({config.log_mel_unit}). The training computes those features "
                "once (cached), then the network's output for every window once (cached), and trains only the "
                "layers after the frozen part: a few seconds per epoch.", icon=":material/school:")
    return preset


OUTPUT_LABELS = {
    "softmax": "Softmax over the genres (categorical cross-entropy)",
    "sigmoid": "One sigmoid unit (binary cross-entropy)",
}


def _hyper_widget(column: DeltaGenerator, name: str, default: Any, key: str) -> Any:
    """The widget of hyper-parameter ``name`` (drawn by its declared kind, `hyper_settings.HYPER_SETTINGS`) and the
    value it gives; InputError naming the setting for text that is not a list of sizes."""
    setting = hyper_settings.HYPER_SETTINGS[name]
    label, help_text, key = setting.label, setting.help, f"{key}.{name}"
    if setting.kind == hyper_settings.SIZES:
        text = column.text_input(label, ", ".join(str(size) for size in default), key=key, help=help_text)
        try:
            return hyper_settings.parse_sizes(text)
        except ValueError as error:
            raise InputError(label, str(error)) from None
    if setting.kind == hyper_settings.SIZE:
        return int(column.number_input(label, min_value=1, max_value=99, value=int(default), key=key, help=help_text))
    if setting.kind == hyper_settings.ACTIVATION:
        choices = hyper_settings.ACTIVATIONS
        return column.selectbox(label, choices, index=choices.index(default), key=key, help=help_text)
    if setting.kind == hyper_settings.FRACTION:
        return column.slider(label, 0.0, 0.9, float(default), 0.05, key=key, help=help_text)
    if setting.kind == hyper_settings.PENALTY:
        return column.number_input(label, min_value=0.0, max_value=1.0, value=float(default), step=1e-4,
                                   format="%.4f", key=key, help=help_text)
    return column.toggle(label, value=bool(default), key=key, help=help_text)


def _optimiser_settings(column: DeltaGenerator, key: str) -> dict[str, Any]:
    """Optimiser, learning rate and schedule; for SGD momentum (default 0: plain SGD) and Nesterov; weight decay."""
    optimizer = column.selectbox("Optimiser", OPTIMIZERS, index=OPTIMIZERS.index("adam"), key=f"{key}.optimizer")
    settings: dict[str, Any] = {"optimizer": optimizer}
    settings["learning_rate"] = float(column.number_input("Learning rate", min_value=1e-6, max_value=1.0, value=1e-3,
                                                          step=1e-4, format="%.6f", key=f"{key}.lr"))
    if optimizer == "sgd":
        settings["momentum"] = float(column.slider(
            "Momentum", 0.0, 0.99, 0.0, 0.01, key=f"{key}.momentum",
            help="0 is plain mini-batch stochastic gradient descent; 0.9 is the usual momentum."))
        settings["nesterov"] = column.toggle("Nesterov momentum", value=False, key=f"{key}.nesterov",
                                             disabled=settings["momentum"] == 0,
                                             help="Take the gradient where the momentum is about to carry the weights.")
        settings["nesterov"] = settings["nesterov"] and settings["momentum"] > 0
    settings["weight_decay"] = float(column.number_input(
        "Weight decay", min_value=0.0, max_value=0.5, value=0.0, step=1e-4, format="%.4f", key=f"{key}.decay",
        help="Decoupled weight decay: each step shrinks the weights by this share of the learning rate (AdamW's)."))
    settings["schedule"] = column.selectbox("Learning-rate schedule", SCHEDULES, key=f"{key}.schedule")
    return settings


def training_settings(preset: Preset, n_classes: int) -> dict[str, Any]:
    """`TrainConfig` arguments (all but the seed) from the page: optimiser settings, batch size, epochs, early
    stopping, the output head (a 2-genre task may use one sigmoid unit), and every model setting the preset
    declares (`hyper_settings`); ``hyper`` holds the ones changed from the preset's defaults."""
    key = f"train.{preset.name}"
    optimiser_column, length_column, model_column = st.columns(3)
    settings = _optimiser_settings(optimiser_column, key)
    batch_size = int(length_column.number_input("Batch size", min_value=1, max_value=1024, value=32,
                                                key=f"{key}.batch"))
    epochs = int(length_column.number_input("Epochs", min_value=1, max_value=500, value=20, key=f"{key}.epochs"))
    patience = None
    if length_column.toggle("Early stopping", value=True, key=f"{key}.early",
                            help="Stop when the validation loss has not improved for this many epochs; "
                                 "the best weights are kept."):
        patience = int(length_column.number_input("Patience (epochs)", min_value=1, max_value=100, value=5,
                                                  key=f"{key}.patience"))
    output = "softmax"
    if n_classes == 2:
        output = length_column.radio("Output", tuple(OUTPUT_LABELS), format_func=OUTPUT_LABELS.get, key=f"{key}.output",
                                     help="Two genres: a softmax over both, or one sigmoid unit giving P(second genre).")
    defaults = preset.default_hyper
    offered = [name for name in defaults if name in hyper_settings.HYPER_SETTINGS]
    chosen = {name: _hyper_widget(model_column, name, defaults[name], key) for name in offered}
    fixed = {name: value for name, value in defaults.items() if name not in chosen}
    if fixed:
        model_column.caption("Fixed by the preset: " + ", ".join(f"{name} = {value}" for name, value in fixed.items()))
    return {
        "preset": preset.name, "hyper": {name: value for name, value in chosen.items() if value != defaults[name]},
        **settings, "batch_size": batch_size, "epochs": epochs, "early_stopping_patience": patience, "output": output,
    }


def choose_split(dataset: Dataset) -> tuple[str, str | None]:
    """The split protocol chosen on the page (for `splits.make_split`) and its split folder, among the protocols
    the dataset supports; the missing ones are named with the reason. InputError without a needed folder."""
    missing = splits.unavailable_protocols(dataset)
    protocols = [protocol for protocol in splits.PROTOCOLS if protocol not in missing]
    protocol = st.radio("Split protocol", protocols, format_func=PROTOCOL_LABELS.get, horizontal=True,
                        key="train.protocol")
    if missing:
        st.caption("Not offered for this dataset: " + "; ".join(
            f"**{PROTOCOL_LABELS[name]}**, because {reason}" for name, reason in missing.items()) + ".")
    split_dir = None
    if protocol == ARTIST_FILTERED:
        fold_column, folder_column = st.columns([1, 3])
        fold = fold_column.selectbox("Fold", splits.ARTIST_FILTERED_FOLDS, key="train.fold")
        split_dir = folder_column.text_input(
            "Split folder (f1_train.txt, f1_evaluate.txt, f1_train_groups.txt, ...)",
            value=str(DEFAULT_SPLIT_DIR) if DEFAULT_SPLIT_DIR.is_dir() else "", key="train.split_dir",
        ).strip()
        if not split_dir:
            raise InputError("split folder", "give the folder of the artist-filtered split files")
        paths.confine(split_dir, "split folder")
        protocol = f"{ARTIST_FILTERED}:{fold}"
    if protocol == LEAKY:
        st.warning(
            "**Leaky split:** the windows of one song are dealt out to train, validation and test independently, so "
            "the model is tested on songs it has already heard (other windows of them). Scores come out far too "
            "high. Use it only to see how big this effect is, never to report a result.",
            icon=":material/warning:",
        )
    return protocol, split_dir
