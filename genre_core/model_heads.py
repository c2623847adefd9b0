"""How every GenreLens classifier ends, and the one way its outputs are read.

Every model ends in a Dense layer ``logits`` (no activation) followed by an Activation layer ``probabilities``,
so Grad-CAM and SHAP can read logits from any model, including one loaded from disk. Two heads (``OUTPUTS``):

- ``"softmax"``: ``logits`` (batch, K) -> softmax ``probabilities`` (batch, K), K >= 2 (categorical
  cross-entropy);
- ``"sigmoid"``: a binary task (K = 2, e.g. blues vs metal) with one unit: ``logits`` (batch, 1) holds z, the
  class-1 logit, -> sigmoid ``probabilities`` (batch, 1) = P(class 1) (binary cross-entropy).

Code that reads a model's outputs goes through `class_outputs` / `class_model`, which give one column per
class for both heads: (-z, z) as class scores and (1 - p, p) as probabilities.
"""

from __future__ import annotations

from typing import Any

import keras

from genre_core.errors import InputError
from genre_core.train_choices import OUTPUTS, SIGMOID


def classifier_head(x: Any, n_classes: int, output: str) -> Any:
    """Dense ``logits`` (no activation) -> Activation ``probabilities``: ``n_classes`` softmax units, or for
    ``output="sigmoid"`` (2 classes only) one sigmoid unit giving P(class 1)."""
    if output not in OUTPUTS:
        raise InputError("output", f"{output!r} is not one of {', '.join(OUTPUTS)}")
    if output == SIGMOID and n_classes != 2:
        raise InputError("output", f"a sigmoid output is for 2 classes, this task has {n_classes}: use softmax")
    logits = keras.layers.Dense(1 if output == SIGMOID else n_classes, name="logits")(x)
    return keras.layers.Activation(output, name="probabilities")(logits)


def class_outputs(model: keras.Model, layer: str = "probabilities") -> Any:
    """The output of ``layer`` ("logits" or "probabilities") of a GenreLens classifier as one column per class,
    (batch, K) for either head: a softmax model's as it is; a sigmoid model's (batch, 1) class-1 logit z becomes
    the class scores (-z, z), its P(class 1) p becomes (1 - p, p). A symbolic tensor for `class_model`."""
    values = model.get_layer(layer).output
    if int(values.shape[-1]) != 1:
        return values
    # one fixed linear layer (a MatMul, which every gradient method and shap's DeepExplainer handle): [-1, 1] x
    # plus a bias of 1 on the class-0 column for probabilities
    two_columns = keras.layers.Dense(
        2,
        kernel_initializer=keras.initializers.Constant([[-1.0, 1.0]]),
        bias_initializer=keras.initializers.Constant([0.0 if layer == "logits" else 1.0, 0.0]),
        trainable=False,
        name=f"{layer}_per_class",
    )
    return two_columns(values)


def class_model(model: keras.Model, layer: str = "probabilities") -> keras.Model:
    """A model sharing ``model``'s weights that maps its input to `class_outputs` ``(batch, K)``: the one way
    evaluation, prediction, Grad-CAM and SHAP read class scores or probabilities from either head."""
    return keras.Model(model.inputs, class_outputs(model, layer), name=f"{model.name}_{layer}")
