"""The names a training setting may take, without TensorFlow (the CLI's ``--help``, the Train page and
`train_config.TrainConfig`'s checks read them from here)."""

from __future__ import annotations

OPTIMIZERS = ("sgd", "adam", "rmsprop", "adamw")  #: `TrainConfig.optimizer` (Keras optimisers)
#: `TrainConfig.schedule`: learning rate over the epochs (see `train_config.learning_rate_at`).
SCHEDULES = ("constant", "step", "exponential", "cosine", "cosine-restarts", "plateau", "one-cycle")
CLASS_WEIGHTS = ("none", "balanced")  #: `TrainConfig.class_weight`
SOFTMAX, SIGMOID = "softmax", "sigmoid"
OUTPUTS = (SOFTMAX, SIGMOID)  #: the two classifier heads (see `genre_core.models`)
