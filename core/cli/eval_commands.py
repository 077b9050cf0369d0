"""`concierge eval intents|engine`: accuracy on a labelled CSV, under a chosen protocol.

`eval intents` trains on `--train` as it is, on `--shots N` rows per intent, and/or with
a share `--unknown-ratio R` of the intents held out of training (their test rows are then
out of scope); `--seed` picks the sample. `eval engine` runs the configured pack, or with
`--articles-only` the pack's articles alone (a copy without `intents/`). `--typos` (both)
puts one typo in each test message; `CONCIERGE_SPELLING=off` reads them as sent.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from core.cli.common import CliError, live_engine, print_result
from core.config import get_settings


def cmd_eval(args: argparse.Namespace) -> None:
    from core.engine.evaluation import read_labelled_csv
    from core.engine.protocols import with_typos

    test = read_labelled_csv(Path(args.test), args.text_col, args.label_col)
    if args.typos:
        test = with_typos(test, args.seed)
    predictions = Path(args.predictions) if args.predictions else None
    if args.target == "intents":
        result = eval_intents(args, test, predictions)
    else:
        if args.shots is not None or args.unknown_ratio is not None:
            raise CliError("--shots and --unknown-ratio apply to eval intents")
        result = eval_engine(args, test, predictions) | {"spelling": get_settings().spelling}
    print_result(result | ({"typos": True, "seed": args.seed} if args.typos else {}), args.json)


def eval_intents(args: argparse.Namespace, test: list, predictions: Path | None) -> dict:
    from agents.embeddings import load_encoder
    from agents.intent import OUT_OF_SCOPE
    from core.engine.evaluation import evaluate_intents, read_labelled_csv
    from core.engine.protocols import hold_out_intents, sample_shots

    if not args.train:
        raise CliError("eval intents needs --train CSV")
    if args.articles_only:
        raise CliError("--articles-only applies to eval engine")
    train = read_labelled_csv(Path(args.train), args.text_col, args.label_col)
    oos_label = args.oos_label
    protocol: dict = {}
    if args.unknown_ratio is not None:
        oos_label = oos_label or OUT_OF_SCOPE
        train, test, unknown = hold_out_intents(train, test, args.unknown_ratio, oos_label,
                                                args.seed)
        protocol.update(unknown_ratio=args.unknown_ratio, unknown_intents=len(unknown))
    if args.shots is not None:
        train = sample_shots(train, args.shots, args.seed)
        protocol["shots"] = args.shots
    if protocol:
        protocol.update(seed=args.seed, train_rows=len(train))
    encoder = load_encoder(get_settings().embeddings)
    return {**evaluate_intents(train, test, oos_label, encoder=encoder, predictions=predictions,
                               spelling=get_settings().spelling == "on"), **protocol}


def eval_engine(args: argparse.Namespace, test: list, predictions: Path | None) -> dict:
    from core.engine.engine import Engine, memory_checkpointer
    from core.engine.evaluation import evaluate_engine

    settings = get_settings()
    if not args.articles_only:
        engine = live_engine(settings)  # the pack plus the live labelled examples
        return evaluate_engine(engine, test, args.oos_label, predictions) | {
            "model_version": engine.model_version}
    if not (settings.data_dir / "kb").is_dir():
        raise CliError(f"{settings.data_dir}: no kb/ folder to evaluate")
    with tempfile.TemporaryDirectory(prefix="concierge-articles-") as scratch:
        shutil.copytree(settings.data_dir / "kb", Path(scratch) / "kb")
        alone = settings.model_copy(update={"data_dir": Path(scratch)})
        engine = Engine.load(alone, checkpointer=memory_checkpointer())
        result = evaluate_engine(engine, test, args.oos_label, predictions)
    return {**result, "articles_only": True, "articles": len(engine.pack.articles)}


def register(sub: argparse._SubParsersAction) -> None:
    evaluate = sub.add_parser("eval", help="measure intents or the whole engine on a CSV")
    evaluate.add_argument("target", choices=["intents", "engine"])
    evaluate.add_argument("--train")
    evaluate.add_argument("--test", required=True)
    evaluate.add_argument("--text-col", default="text")
    evaluate.add_argument("--label-col", default="category")
    evaluate.add_argument("--oos-label")
    evaluate.add_argument("--shots", type=int, help="train on N rows per intent")
    evaluate.add_argument("--unknown-ratio", type=float,
                          help="hold this share of the intents out of training (open intent)")
    evaluate.add_argument("--seed", type=int, default=0, help="the sample of --shots/--unknown-ratio")
    evaluate.add_argument("--typos", action="store_true",
                          help="one typo in each test message (drawn with --seed)")
    evaluate.add_argument("--predictions", help="write every test row's prediction to this CSV")
    evaluate.add_argument("--articles-only", action="store_true",
                          help="eval engine on the pack's articles alone (no intents/)")
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(func=cmd_eval)
