"""Classification metrics, checked against arithmetic done by hand.

The main example has 3 classes, and class 2 is never predicted:

    y_true = [0, 0, 0, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 0, 1, 1, 1, 0, 0, 1, 1]

    confusion matrix (rows true, columns predicted):
              pred 0  pred 1  pred 2
    true 0       2       1       0      support 3
    true 1       0       2       0      support 2
    true 2       2       2       0      support 4
    predicted    4       5       0

    precision = TP / predicted:  2/4 = 0.5,   2/5 = 0.4,   0/0 -> 0.0
    recall    = TP / support:    2/3,         2/2 = 1.0,   0/4 = 0.0
    F1 = 2PR/(P+R):  2*0.5*(2/3)/(0.5+2/3) = (2/3)/(7/6) = 4/7
                     2*0.4*1/(0.4+1)      = 0.8/1.4     = 4/7
                     0.0
    accuracy = (2 + 2 + 0) / 9 = 4/9
    macro:    P = (0.5 + 0.4 + 0)/3 = 0.3,  R = (2/3 + 1 + 0)/3 = 5/9,  F1 = (4/7 + 4/7 + 0)/3 = 8/21
    weighted (by support 3, 2, 4 of 9):
              P = (3*0.5 + 2*0.4 + 4*0)/9 = 2.3/9
              R = (3*2/3 + 2*1 + 4*0)/9  = 4/9  (weighted recall is always the accuracy)
              F1 = (3*4/7 + 2*4/7 + 0)/9 = 20/63
"""

import json
import warnings

import numpy as np
import pytest

import tinygrad_ft as tg
from tinygrad_ft.metrics import (
    accuracy,
    classification_dict,
    classification_report,
    confusion_matrix,
    plot_confusion_matrix,
    precision_recall_f1,
)

Y_TRUE = [0, 0, 0, 1, 1, 2, 2, 2, 2]
Y_PRED = [0, 0, 1, 1, 1, 0, 0, 1, 1]
NAMES = ["cat", "dog", "bird"]


def test_accuracy_counts_right_answers():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 9)


def test_confusion_matrix_rows_are_truth_columns_are_predictions():
    expected = [[2, 1, 0], [0, 2, 0], [2, 2, 0]]
    assert confusion_matrix(Y_TRUE, Y_PRED, num_classes=3).tolist() == expected


def test_confusion_matrix_num_classes_adds_classes_absent_from_both():
    assert confusion_matrix([0, 1], [0, 1], num_classes=3).shape == (3, 3)


def test_precision_recall_f1_per_class():
    precision, recall, f1, support = precision_recall_f1(Y_TRUE, Y_PRED, 3)
    np.testing.assert_allclose(precision, [0.5, 0.4, 0.0])
    np.testing.assert_allclose(recall, [2 / 3, 1.0, 0.0])
    np.testing.assert_allclose(f1, [4 / 7, 4 / 7, 0.0])
    assert support.tolist() == [3, 2, 4]


def test_class_never_predicted_scores_zero_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning (0/0) would fail the test
        precision, _, f1, _ = precision_recall_f1(Y_TRUE, Y_PRED, 3)
    assert precision[2] == 0.0
    assert f1[2] == 0.0


def test_macro_average_is_the_plain_mean_over_classes():
    macro = classification_dict(Y_TRUE, Y_PRED, NAMES)["macro avg"]
    assert macro["precision"] == pytest.approx(0.3)
    assert macro["recall"] == pytest.approx(5 / 9)
    assert macro["f1-score"] == pytest.approx(8 / 21)


def test_weighted_average_weights_by_support():
    weighted = classification_dict(Y_TRUE, Y_PRED, NAMES)["weighted avg"]
    assert weighted["precision"] == pytest.approx(2.3 / 9)
    assert weighted["recall"] == pytest.approx(4 / 9)
    assert weighted["f1-score"] == pytest.approx(20 / 63)
    assert weighted["support"] == 9


def test_classification_dict_is_json_able_and_keyed_by_class_name():
    report = json.loads(json.dumps(classification_dict(Y_TRUE, Y_PRED, NAMES)))
    assert report["bird"] == {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 4}
    assert report["accuracy"] == pytest.approx(4 / 9)


def test_classification_report_matches_scikit_learn_layout():
    # The example in scikit-learn's classification_report docstring, with its printed output.
    expected = (
        "              precision    recall  f1-score   support\n"
        "\n"
        "     class 0       0.50      1.00      0.67         1\n"
        "     class 1       0.00      0.00      0.00         1\n"
        "     class 2       1.00      0.67      0.80         3\n"
        "\n"
        "    accuracy                           0.60         5\n"
        "   macro avg       0.50      0.56      0.49         5\n"
        "weighted avg       0.70      0.60      0.61         5\n"
    )
    assert classification_report([0, 1, 2, 2, 2], [0, 0, 2, 2, 1], ["class 0", "class 1", "class 2"]) == expected


def test_metrics_accept_tensors():
    assert accuracy(tg.tensor(np.array(Y_TRUE)), np.array(Y_PRED)) == pytest.approx(4 / 9)


def test_mismatched_lengths_are_an_error_naming_both():
    with pytest.raises(ValueError, match="y_true has 3 labels but y_pred has 2"):
        accuracy([0, 1, 1], [0, 1])


def test_label_out_of_range_is_an_error_naming_it():
    with pytest.raises(ValueError, match="label 5 is out of range for num_classes=2"):
        confusion_matrix([0, 1], [0, 5], num_classes=2)


def test_plot_confusion_matrix_returns_a_figure_and_saves_it(tmp_path):
    cm = confusion_matrix(Y_TRUE, Y_PRED, 3)
    fig = plot_confusion_matrix(cm, NAMES, path=tmp_path / "cm.png")
    assert (tmp_path / "cm.png").stat().st_size > 0
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == NAMES


def test_plot_confusion_matrix_normalized_rows_show_fractions():
    fig = plot_confusion_matrix(confusion_matrix(Y_TRUE, Y_PRED, 3), NAMES, normalize=True)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[:3] == ["0.67", "0.33", "0.00"]  # row "cat": 2/3, 1/3, 0/3
