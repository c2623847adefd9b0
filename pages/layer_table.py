"""A model's layer table on the Train page: its parameter count, each layer's output shape and parameters with the
arithmetic behind them (`genre_core.anatomy`), and how to count them by hand; for a preset as the settings build
it, or for a loaded bundle.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from genre_core import inputs
from genre_core.dataset import Dataset
from pages import widgets

if TYPE_CHECKING:
    from genre_core.anatomy import LayerCount
    from genre_core.models import Preset
    from genre_core.train_config import TrainConfig


@st.cache_data(show_spinner="Building the model…", max_entries=64)
def _architecture(
    preset: str, input_shape: tuple[int, ...], n_classes: int, output: str, hyper_json: str
) -> list[LayerCount]:
    """`anatomy.layer_counts` of ``preset`` built for this input, class count and output head."""
    from genre_core import anatomy, models

    return anatomy.layer_counts(models.build_model(preset, input_shape, n_classes, output=output,
                                                   **json.loads(hyper_json)))


#: How to count parameters by hand, shown under every layer table.
HAND_COUNT_NOTE = (
    "**Counting by hand:** a convolution has kernel height × width × input channels × filters weights plus one "
    "bias per filter; a Dense layer has inputs × units weights plus one bias per unit; batch norm keeps 4 values "
    "per channel (scale, shift, moving mean and variance; the last two are not trained); pooling, flatten, "
    "dropout and activations have none. 'same' padding keeps a map's size, each 2 × 2 pooling halves it "
    "(rounding down), and flatten multiplies height × width × channels into the next layer's inputs."
)


def show_layer_counts(counts: list[LayerCount], title: str, key: str) -> None:
    """Total, the per-layer table with each layer's arithmetic (and a download), and how to count by hand."""
    total = sum(row.params for row in counts)
    trainable = sum(row.params for row in counts if row.trainable)
    frozen = f" ({trainable:,} trained, the rest frozen or statistics)" if trainable != total else ""
    st.markdown(f"{title}: **{total:,} parameters**{frozen}")
    with st.expander("Layers and the parameter arithmetic"):
        table = pd.DataFrame({
            "layer": [row.name for row in counts], "type": [row.kind for row in counts],
            "output shape": [row.shape_text for row in counts], "parameters": [row.params for row in counts],
            "arithmetic": [row.arithmetic for row in counts], "trained": [row.trainable for row in counts],
        })
        st.dataframe(table, hide_index=True)
        widgets.table_download(table, f"layers_{key}")
        st.caption(HAND_COUNT_NOTE)


def show_architecture(preset: Preset, config: TrainConfig, dataset: Dataset) -> None:
    if preset.features is not None:  # trained on its own features, computed by the job
        input_shape = inputs.input_shape(preset.feature_kind, (preset.features.n_mels, preset.features.frames_per_segment))
    else:
        features = dataset.features[preset.feature_kind]
        input_shape = inputs.input_shape(preset.feature_kind, tuple(features.shape[1:]))
    counts = _architecture(preset.name, input_shape, dataset.n_classes, config.output,
                            json.dumps(config.hyper, sort_keys=True))
    outputs = "1 sigmoid output" if config.output == "sigmoid" else f"{dataset.n_classes} outputs"
    show_layer_counts(counts, f"**{preset.name}**, input {' × '.join(map(str, input_shape))}, {outputs}", preset.name)
