"""`genre_core.model_cards`: the sentences a shipped bundle's card writes from its measured metrics (the card of a
bundle trained end to end is checked in `test_pretrain`, beside the recipe that writes it)."""

from __future__ import annotations

import pytest

from genre_core import model_cards


def cv_result(network: float, **baselines: float) -> dict:
    """A cross-validation summary with these mean test accuracies."""
    return {
        "summary": {
            "test": {"accuracy": {"mean": network}},
            "baselines": {f"{name}_accuracy": {"mean": value} for name, value in baselines.items()},
        }
    }


@pytest.mark.parametrize(
    ("network", "expected_sentence", "beats_all"),
    [
        (0.60, "(60.0 %) beats logistic_regression (52.5 %) and rbf_svm (48.3 %).", True),
        (0.5253, "(52.5 %) beats rbf_svm (48.3 %); it ties with logistic_regression (52.53 % against 52.54 %).", False),
        (0.50, "(50.0 %) beats rbf_svm (48.3 %); it does not beat logistic_regression (52.5 %).", False),
    ],
)
def test_card_calls_a_tie_a_tie_and_not_a_win(network, expected_sentence, beats_all):
    result = cv_result(network, majority=0.10, logistic_regression=0.5254, rbf_svm=0.483)

    assert model_cards._comparison("folds", result) == f"On the folds the network's mean accuracy {expected_sentence}"
    assert model_cards._beats_all(result) is beats_all
