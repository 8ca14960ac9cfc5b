"""Command-line entry points: `onecity hotline train|evaluate` (management commands of the
hotline app) and ``python -m onecity.hotline.classifier`` call these; each returns the dict
that is printed as one JSON line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from onecity.hotline.classifier.data import DatasetError, read_csv
from onecity.hotline.classifier.model import TrainingError, evaluate, train


def cli_train(csv_path: str | Path, out_path: str | Path) -> dict:
    """Train on a CSV file (columns text,category) and save the model to `out_path`."""
    data = read_csv(csv_path)
    model = train(data.texts, data.labels)
    model.save(out_path)
    return {"version": model.version, "n_train": model.n_train, "skipped": data.skipped,
            "labels": model.labels, "cv_accuracy": model.cv_metrics.get("accuracy"),
            "cv_macro_f1": model.cv_metrics.get("macro_f1"), "seconds": model.cv_metrics.get("seconds"),
            "path": str(out_path)}


def cli_evaluate(train_csv: str | Path, test_csv: str | Path) -> dict:
    """Train on one CSV file, predict the other: accuracy, macro-F1 and the sizes."""
    train_data, test_data = read_csv(train_csv), read_csv(test_csv)
    model = train(train_data.texts, train_data.labels)
    metrics = evaluate(model, test_data.texts, test_data.labels)
    return {"accuracy": metrics.accuracy, "macro_f1": metrics.macro_f1, "n_train": metrics.n_train,
            "n_test": metrics.n_test}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m onecity.hotline.classifier",
                                     description="Train or evaluate the 12345 dispatch classifier.")
    commands = parser.add_subparsers(dest="command", required=True)
    train_cmd = commands.add_parser("train", help="train on a CSV file (columns text,category) and save the model")
    train_cmd.add_argument("--csv", required=True)
    train_cmd.add_argument("--out", required=True, help="where to write the model file")
    eval_cmd = commands.add_parser("evaluate", help="train on one CSV file, print accuracy and macro-F1 on another")
    eval_cmd.add_argument("--train", required=True)
    eval_cmd.add_argument("--test", required=True)
    args = parser.parse_args(argv)
    try:
        result = cli_train(args.csv, args.out) if args.command == "train" else cli_evaluate(args.train, args.test)
    except (DatasetError, TrainingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False))
    return 0
