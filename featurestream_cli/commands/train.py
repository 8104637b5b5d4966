"""``featurestream train``: point-in-time training set → scikit-learn model → saved artifact."""

import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from featurestream.contract.model_contract import DEFAULT_CONTRACT_PATH
from featurestream_cli.options import DEFAULT_CUSTOMERS, DEFAULT_ORDERS, timestamp_option

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
    "reorder_rate) as of just before each label (--source raw only)",
)
@click.option(
    "--source",
    type=click.Choice(["raw", "offline-store"]),
    default="raw",
    show_default=True,
    help="raw: the CSV exports; offline-store: what the pipeline ingested, with SQL through "
    "Athena (the local stack's or AWS's; docs/offline.md)",
)
@click.option(
    "--as-known-at",
    callback=timestamp_option,
    default=None,
    help="offline-store: count only rows written at or before this time (ISO-8601)",
)
@click.option(
    "--dataset",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="offline-store: where to write the training set (Parquet, manifest next to it; "
    "default .state/training/offline-store.parquet)",
)
@click.option(
    "--workgroup",
    envvar="FEATURESTREAM_ATHENA_WORKGROUP",
    default="featurestream-offline",
    show_default=True,
    help="offline-store: Athena workgroup [env: FEATURESTREAM_ATHENA_WORKGROUP]",
)
def command(  # noqa: PLR0917 - one parameter per option
    customers: Path,
    orders: Path,
    model_dir: Path,
    lambda_contract: Path,
    no_lambda_contract: bool,
    with_aggregates: bool,
    source: str,
    as_known_at: datetime | None,
    dataset: Path | None,
    workgroup: str,
) -> None:
    """Train the reorder model on a point-in-time correct training set and save it.

    For each order: the customer's features and the previous order's features as of just
    before it (tenure and recency recomputed then, with the fitted params); label: whether
    it is reordered. Holdout = whole customers (id divisible by 5). Prints ROC AUC and log
    loss on the holdout against a label-frequency baseline.

    With --source offline-store the same rows come from the offline store (SQL through
    Athena's API), and the training set is also written to --dataset with a manifest.
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
    params = load_params()
    features = MODEL_FEATURES_WITH_AGGREGATES if with_aggregates else MODEL_FEATURES
    if source == "offline-store":
        if with_aggregates:
            raise click.ClickException(
                "--with-aggregates needs --source raw: the offline-store training set "
                "does not build the aggregates yet"
            )
        from devstack.stack.process import state_root

        target = dataset or state_root() / "training" / "offline-store.parquet"
        rows, trained_on = _offline_rows(params, as_known_at, target, workgroup)
    else:
        try:
            history = read_history(customers, orders)
        except (HistoryError, SourceFileError) as error:
            raise click.ClickException(str(error)) from error
        rows = build_training_rows(history, params, features)
        trained_on = {
            "customers": {"file": customers.name, "sha256": _sha256(customers)},
            "orders": {"file": orders.name, "sha256": _sha256(orders)},
        }
    train, holdout = split_by_customer(rows)
    if not train or not holdout or len({r.label for r in train}) < 2:
        raise click.ClickException("not enough labelled orders to train and evaluate a model")
    model = train_model(
        train,
        holdout,
        params_version=params.version,
        trained_on=trained_on,
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


def _offline_rows(
    params: Any, as_known_at: datetime | None, dataset: Path, workgroup: str
) -> tuple[list[Any], dict[str, Any]]:
    """The training rows from the offline store, written to ``dataset`` with a manifest."""
    import os

    from featurestream.offline.tables import expand
    from featurestream_cli.commands.offline import OfflineSession, guarded
    from training.offline_store import pit_query, rows_from_result, write_dataset

    found: dict[str, Any] = {}

    def run() -> None:
        session = OfflineSession(
            os.environ.get("CUSTOMERS_FEATURE_GROUP_NAME", "featurestream-customers"),
            os.environ.get("ORDERS_FEATURE_GROUP_NAME", "featurestream-orders"),
            workgroup,
            None,
        )
        sql = pit_query(as_known_at)
        result = session.run(sql)
        found["rows"] = rows_from_result(result, params)
        found["written"] = write_dataset(
            found["rows"],
            dataset,
            query=expand(sql, session.tables),
            query_id=result.query_id,
            extra={
                "tables": {k: t.qualified for k, t in session.tables.items()},
                "as_known_at": as_known_at.isoformat() if as_known_at else None,
                "scanned_bytes": result.scanned_bytes,
            },
        )
        click.echo(
            f"offline store: {len(found['rows'])} training rows, scanned "
            f"{result.scanned_bytes} bytes, engine {result.engine_ms} ms (query {result.query_id})"
        )
        click.echo(f"wrote {dataset} and {found['written'].manifest.name}")

    guarded(run)
    written = found["written"]
    return found["rows"], {
        "offline-store": {
            "dataset": str(dataset),
            "rows": written.rows,
            "sha256": written.sha256,
            "as_known_at": as_known_at.isoformat() if as_known_at else None,
        }
    }
