"""Backfill with Spark: the exports' full history into the offline store in bulk, and each
record's newest event into the online store, through the Feature Store Spark connector.

For histories past what ``featurestream backfill`` loads through the API in reasonable
time (docs/backfill.md has the arithmetic). Run on EMR Serverless or as a Glue job
(instructions in jobs/spark/README.md)::

    spark-submit backfill_offline.py --customers s3://bucket/raw/customers.csv \\
        --orders s3://bucket/raw/orders.csv \\
        --customers-group-arn arn:aws:sagemaker:...:feature-group/featurestream-customers \\
        --orders-group-arn arn:aws:sagemaker:...:feature-group/featurestream-orders

The records come from the library's one definition: each CSV row is converted by the
replay's field rules (:data:`producers.sources.CUSTOMER_FIELDS` / ``ORDER_FIELDS``),
validated into the event contract and transformed by
:func:`featurestream.contract.transforms.features_for` with the stream functions' ``as_of``
rule (the later of the run's start and the event's time). Spark only distributes the rows,
picks each record's newest event (greatest event time, the first row among ties, as the
Feature Store applies a write online only when its event time is newer) and hands the
frames to the connector: every event with ``target_stores=["OfflineStore"]``, the newest
ones with ``target_stores=["OnlineStore"]``. A row that cannot be read is counted and left
out (its file, line and field are not known to Spark's reader: check the files with
``featurestream backfill --on-error fail`` on a sample first).
"""

import argparse
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Literal

from featurestream.contract.catalog import CUSTOMERS, ORDERS, FeatureGroupSpec
from featurestream.contract.params import FittedParams, load_params
from featurestream.contract.timeutil import parse_timestamp
from featurestream.contract.transforms import features_for
from producers.sources import CUSTOMER_FIELDS, ORDER_FIELDS, customer_event, order_event

Kind = Literal["customers", "orders"]
SPECS: Final[dict[Kind, FeatureGroupSpec]] = {"customers": CUSTOMERS, "orders": ORDERS}
ROW_ORDER: Final = "_row"
"""A column holding each row's position in its file (for the tie rule), dropped before ingest."""


def records_for(
    kind: Kind, rows: Iterable[Mapping[str, Any]], params: FittedParams, as_of: datetime
) -> Iterator[tuple[Any, ...]]:
    """Each readable row's record as a tuple in catalog order, plus its row position last.

    The transform logic of the job: plain Python over dicts, so it runs the same in a
    Spark executor and in a test.
    """
    fields = CUSTOMER_FIELDS if kind == "customers" else ORDER_FIELDS
    to_event = customer_event if kind == "customers" else order_event
    names = SPECS[kind].feature_names
    for row in rows:
        try:
            data = {name: convert(str(row[name]).strip()) for name, convert in fields}
            event = to_event(data)
        except (KeyError, TypeError, ValueError):  # pydantic's ValidationError is a ValueError
            continue
        _, features = features_for(event, params=params, as_of=max(as_of, event.event_time))
        yield (*(features[name] for name in names), row[ROW_ORDER])


def spark_schema(spec: FeatureGroupSpec) -> Any:
    """The record's Spark schema from the catalog: Integral -> long, Fractional -> double."""
    from pyspark.sql import types

    kinds = {
        "Integral": types.LongType(),
        "Fractional": types.DoubleType(),
        "String": types.StringType(),
    }
    return types.StructType(
        [types.StructField(f.name, kinds[f.type], nullable=False) for f in spec.features]
        + [types.StructField(ROW_ORDER, types.LongType(), nullable=False)]
    )


def build_frames(
    spark: Any, kind: Kind, path: str, params: FittedParams, as_of: datetime
) -> tuple[Any, Any]:
    """``(history, newest)`` for one export: every event's record, and per record
    identifier the newest one (greatest event time; among ties the first row)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as fn

    spec = SPECS[kind]
    raw = (
        spark.read.option("header", True)
        .option("inferSchema", False)
        .csv(path)
        .withColumn(ROW_ORDER, fn.monotonically_increasing_id())
    )
    records = raw.rdd.mapPartitions(
        lambda rows: records_for(kind, (row.asDict() for row in rows), params, as_of)
    ).toDF(spark_schema(spec))
    order = Window.partitionBy(spec.record_identifier).orderBy(
        fn.col(spec.event_time_feature).desc(), fn.col(ROW_ORDER).asc()
    )
    newest = (
        records.withColumn("_rank", fn.row_number().over(order))
        .where(fn.col("_rank") == 1)
        .drop("_rank", ROW_ORDER)
    )
    return records.drop(ROW_ORDER), newest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", required=True, help="customers CSV (s3:// or local)")
    parser.add_argument("--orders", required=True, help="orders CSV (s3:// or local)")
    parser.add_argument("--customers-group-arn", required=True)
    parser.add_argument("--orders-group-arn", required=True)
    parser.add_argument("--as-of", help="processing time (ISO-8601); default: now")
    args = parser.parse_args(argv)
    from feature_store_pyspark.FeatureStoreManager import FeatureStoreManager
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("featurestream-backfill").getOrCreate()
    as_of = parse_timestamp(args.as_of) if args.as_of else datetime.now(UTC)
    params = load_params()
    manager = FeatureStoreManager()
    for kind, path, arn in (
        ("customers", args.customers, args.customers_group_arn),
        ("orders", args.orders, args.orders_group_arn),
    ):
        history, newest = build_frames(spark, kind, path, params, as_of)  # type: ignore[arg-type]
        manager.ingest_data(
            input_data_frame=history, feature_group_arn=arn, target_stores=["OfflineStore"]
        )
        manager.ingest_data(
            input_data_frame=newest, feature_group_arn=arn, target_stores=["OnlineStore"]
        )
    spark.stop()


if __name__ == "__main__":
    main()
