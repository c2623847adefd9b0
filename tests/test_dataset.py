"""`genre_core.dataset`: choosing, merging and renaming classes of a `Dataset` (`select_classes`)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import tiny_dataset

from genre_core.config import SUMMARY
from genre_core.dataset import select_classes
from genre_core.errors import InputError


def test_select_classes_keeps_and_renames() -> None:
    dataset = tiny_dataset(rows=12, n_classes=3)  # labels 0 0 1 1 2 2 0 0 1 1 2 2, two rows per track

    binary = select_classes(dataset, mapping={"class0": "class0", "class2": "class2"})
    assert binary.class_names == ["class0", "class2"] and binary.labels.tolist() == [0, 0, 1, 1, 0, 0, 1, 1]
    assert binary.track_ids.tolist()[2] == "track002"
    np.testing.assert_array_equal(binary.features[SUMMARY], dataset.features[SUMMARY][[0, 1, 4, 5, 6, 7, 10, 11]])

    grouped = select_classes(dataset, genres=["class0", "class1", "class2"],
                             mapping={"class0": "soft", "class1": "soft"})
    assert grouped.class_names == ["class2", "soft"]
    assert grouped.labels.tolist() == [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0]
    assert select_classes(dataset) is dataset
    with pytest.raises(InputError, match="unknown genre 'disco'; available: class0, class1, class2"):
        select_classes(dataset, genres=["disco"])
