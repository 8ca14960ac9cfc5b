"""The 12345 dispatch classifier: reads a request, names its category with a calibrated
confidence and the top suggestions. No Django dependency: the hotline app stores model files
and versions (services/classifier_versions.py) and calls `train`, `DispatchModel.load`,
`DispatchModel.predict`. See docs/decisions/0005-dispatch-classifier.md."""

from onecity.hotline.classifier.cli import cli_evaluate, cli_train
from onecity.hotline.classifier.data import Dataset, DatasetError, read_csv
from onecity.hotline.classifier.model import (
    DEFAULT_SEED,
    DispatchModel,
    Metrics,
    Params,
    Prediction,
    TrainingError,
    evaluate,
    train,
)

__all__ = ["DEFAULT_SEED", "Dataset", "DatasetError", "DispatchModel", "Metrics", "Params", "Prediction",
           "TrainingError", "cli_evaluate", "cli_train", "evaluate", "read_csv", "train"]
