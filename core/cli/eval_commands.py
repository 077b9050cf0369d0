"""`concierge eval intents|engine`: accuracy on a labelled CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.common import CliError, live_engine, print_result
from core.config import get_settings


def cmd_eval(args: argparse.Namespace) -> None:
    from core.engine.evaluation import evaluate_engine, evaluate_intents, read_labelled_csv

    test = read_labelled_csv(Path(args.test), args.text_col, args.label_col)
    if args.target == "intents":
        if not args.train:
            raise CliError("eval intents needs --train CSV")
        from agents.embeddings import load_encoder

        train = read_labelled_csv(Path(args.train), args.text_col, args.label_col)
        encoder = load_encoder(get_settings().embeddings)
        result = evaluate_intents(train, test, args.oos_label, encoder=encoder)
    else:
        engine = live_engine(get_settings())  # the pack plus the live labelled examples
        result = evaluate_engine(engine, test, args.oos_label) | {
            "model_version": engine.model_version}
    print_result(result, args.json)


def register(sub: argparse._SubParsersAction) -> None:
    evaluate = sub.add_parser("eval", help="measure intents or the whole engine on a CSV")
    evaluate.add_argument("target", choices=["intents", "engine"])
    evaluate.add_argument("--train")
    evaluate.add_argument("--test", required=True)
    evaluate.add_argument("--text-col", default="text")
    evaluate.add_argument("--label-col", default="category")
    evaluate.add_argument("--oos-label")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(func=cmd_eval)
