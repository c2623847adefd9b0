"""Right and wrong examples per class from a crafted probability matrix."""

from __future__ import annotations

import numpy as np
import pytest

from genre_core.errors import InputError
from genre_core.explain.examples import EXAMPLE_KINDS, ExampleRow, example_table

CLASS_NAMES = ["blues", "jazz", "metal"]
LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 0])
PROBABILITIES = np.array(
    [
        [0.90, 0.05, 0.05],  # 0 blues, right
        [0.20, 0.70, 0.10],  # 1 blues -> jazz
        [0.60, 0.30, 0.10],  # 2 blues, right
        [0.10, 0.10, 0.80],  # 3 blues -> metal
        [0.10, 0.80, 0.10],  # 4 jazz, right
        [0.50, 0.40, 0.10],  # 5 jazz -> blues
        [0.30, 0.40, 0.30],  # 6 jazz, right
        [0.20, 0.20, 0.60],  # 7 metal, right
        [0.70, 0.20, 0.10],  # 8 metal -> blues
        [0.55, 0.45, 0.00],  # 9 blues, right
    ]
)
TRACK_IDS = np.array([f"track.{row // 2:05d}" for row in range(10)])
SEGMENT_INDEX = np.array([row % 2 for row in range(10)])


def table(**overrides) -> dict[str, dict[str, list[ExampleRow]]]:
    arguments = dict(
        probabilities=PROBABILITIES,
        labels=LABELS,
        track_ids=TRACK_IDS,
        segment_index=SEGMENT_INDEX,
        segment_seconds=3.0,
        class_names=CLASS_NAMES,
    )
    return example_table(**{**arguments, **overrides})


def rows_of(examples: list[ExampleRow]) -> list[int]:
    return [example.row for example in examples]


def test_lists_of_every_class_in_their_orders() -> None:
    examples = table()
    assert list(examples) == CLASS_NAMES
    assert all(list(kinds) == list(EXAMPLE_KINDS) for kinds in examples.values())
    blues = examples["blues"]
    assert rows_of(blues["right"]) == [0, 2, 9]
    assert rows_of(blues["wrong"]) == [1, 3]
    assert rows_of(blues["most_confident_wrong"]) == [3, 1]  # 0.8 (metal) before 0.7 (jazz)
    assert rows_of(blues["least_confident_right"]) == [9, 2, 0]  # 0.55, 0.6, 0.9
    assert rows_of(examples["jazz"]["right"]) == [4, 6] and rows_of(examples["jazz"]["wrong"]) == [5]
    assert rows_of(examples["metal"]["most_confident_wrong"]) == [8]


def test_example_rows_carry_track_time_span_classes_and_probabilities() -> None:
    (wrong, _) = table()["blues"]["most_confident_wrong"]
    assert wrong == ExampleRow(
        row=3,
        track_id="track.00001",
        segment_index=1,
        start_seconds=3.0,
        end_seconds=6.0,
        true_class="blues",
        predicted_class="metal",
        probability=pytest.approx(0.8),
        true_probability=pytest.approx(0.1),
    )
    first_right = table()["blues"]["right"][0]
    assert (first_right.start_seconds, first_right.end_seconds) == (0.0, 3.0)
    assert first_right.predicted_class == first_right.true_class == "blues"
    assert first_right.probability == first_right.true_probability == pytest.approx(0.9)


def test_n_limits_every_list() -> None:
    blues = table(n=2)["blues"]
    assert rows_of(blues["right"]) == [0, 2]
    assert rows_of(blues["least_confident_right"]) == [9, 2]
    assert all(len(examples) <= 1 for kinds in table(n=1).values() for examples in kinds.values())


def test_rows_subset_keeps_dataset_row_numbers() -> None:
    subset = np.array([5, 6, 7, 8, 9])
    examples = table(rows_subset=subset)
    assert rows_of(examples["blues"]["right"]) == [9] and examples["blues"]["wrong"] == []
    assert rows_of(examples["jazz"]["wrong"]) == [5] and rows_of(examples["jazz"]["right"]) == [6]
    assert examples["blues"]["right"][0].track_id == "track.00004"
    mask = np.isin(np.arange(10), subset)
    assert table(rows_subset=mask) == examples


@pytest.mark.parametrize(
    ("overrides", "source"),
    [
        ({"class_names": ["blues", "jazz"]}, "probabilities"),
        ({"track_ids": TRACK_IDS[:4]}, "track ids"),
        ({"segment_seconds": 0.0}, "segment seconds"),
        ({"rows_subset": np.array([3, 10])}, "rows subset"),
        ({"rows_subset": np.array([], dtype=int)}, "rows subset"),
        ({"rows_subset": np.ones(4, dtype=bool)}, "rows subset"),
        ({"labels": np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 3])}, "true labels"),
    ],
)
def test_bad_inputs_name_the_input(overrides: dict, source: str) -> None:
    with pytest.raises(InputError, match=source):
        table(**overrides)
