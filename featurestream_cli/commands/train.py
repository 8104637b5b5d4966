"""``featurestream train``: point-in-time training set → scikit-learn model → saved artifact."""

import hashlib
from pathlib import Path

import click

from featurestream.contract.model_contract import DEFAULT_CONTRACT_PATH
from featurestream_cli.options import DEFAULT_CUSTOMERS, DEFAULT_ORDERS

DEFAULT_MODEL_DIR = Path("model")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@click.command()
@click.option(
    "--customers",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=DEFAULT_CUSTOMERS,
    show_default=True,
    help="customers CSV export",
)
@click.option(
    "--orders",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=DEFAULT_ORDERS,
    show_default=True,
    help="orders CSV export",
)
@click.option(
    "--model-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_MODEL_DIR,
    show_default=True,
    help="where to write model.joblib and feature_list.json",
)
@click.option(
    "--lambda-contract",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_CONTRACT_PATH,
    show_default=True,
    help="the inference Lambda's copy of the feature list",
)
@click.option(
    "--no-lambda-contract",
    is_flag=True,
    help="do not update the Lambda's copy (e.g. when experimenting)",
)
@click.option(
    "--with-aggregates",
    is_flag=True,
    help="also train on customer-order-stats (total_orders, avg_purchase_amount_scaled, "
    "reorder_rate) as of just before each label",
)
def command(
    *,
    customers: Path,
    orders: Path,
    model_dir: Path,
    lambda_contract: Path,
    no_lambda_contract: bool,
    with_aggregates: bool,
) -> None:
    """Train the reorder model on a point-in-time correct training set and save it.

    For each order: the customer's features and the previous order's features as of just
    before it (tenure and recency recomputed then, with the fitted params); label: whether
    it is reordered. Holdout = whole customers (id divisible by 5). Prints ROC AUC and log
    loss on the holdout against a label-frequency baseline.
    """
    from featurestream.contract.params import load_params
    from producers.files import OutputError, check_writable, ensure_folder
    from producers.sources import SourceFileError
    from training.dataset import (
        MODEL_FEATURES,
        MODEL_FEATURES_WITH_AGGREGATES,
        build_training_rows,
        split_by_customer,
    )
    from training.history import HistoryError, read_history
    from training.model import CONTRACT_FILE, MODEL_FILE, save_model, train_model

    try:  # before training, which takes a while
        ensure_folder(model_dir)
        check_writable(model_dir / MODEL_FILE)
        check_writable(model_dir / CONTRACT_FILE)
        if not no_lambda_contract:
            check_writable(lambda_contract)
    except OutputError as error:
        raise click.ClickException(str(error)) from error
    try:
        history = read_history(customers, orders)
    except (HistoryError, SourceFileError) as error:
        raise click.ClickException(str(error)) from error
    params = load_params()
    features = MODEL_FEATURES_WITH_AGGREGATES if with_aggregates else MODEL_FEATURES
    rows = build_training_rows(history, params, features)
    train, holdout = split_by_customer(rows)
    if not train or not holdout or len({r.label for r in train}) < 2:
        raise click.ClickException("not enough labelled orders to train and evaluate a model")
    model = train_model(
        train,
        holdout,
        params_version=params.version,
        trained_on={
            "customers": {"file": customers.name, "sha256": _sha256(customers)},
            "orders": {"file": orders.name, "sha256": _sha256(orders)},
        },
        features=features,
    )
    try:
        written = save_model(model, model_dir, None if no_lambda_contract else lambda_contract)
    except OSError as error:
        raise click.ClickException(f"{error.filename}: cannot write ({error.strerror})") from error
    m = model.metrics
    click.echo(
        f"training rows {m.rows_train}, holdout rows {m.rows_holdout} "
        f"(split by customer; params {params.version})"
    )
    click.echo(f"{'':<22}{'ROC AUC':>10}{'log loss':>10}")
    click.echo(f"{'model':<22}{m.roc_auc:>10.4f}{m.log_loss:>10.4f}")
    click.echo(
        f"{'baseline (rate ' + format(m.positive_rate_train, '.3f') + ')':<22}"
        f"{m.baseline_roc_auc:>10.4f}{m.baseline_log_loss:>10.4f}"
    )
    click.echo(f"model version {model.contract.model_version}")
    for path in written:
        click.echo(f"wrote {path}")
