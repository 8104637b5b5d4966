"""The point-in-time training set from the offline store, with SQL through Athena's API.

The SQL does the joins (:data:`PIT_SQL`): for every order, the customer's previous order
(by event time, then order id, as :mod:`training.dataset` orders them) and the customer's
newest profile row with event time at or before the order (none, when that row is a delete
marker: the customer was deleted then). A feature row stamped after its
label's time can never join. Each order id counts once (a redelivered event leaves two
offline rows; the first written is kept), deleted rows do not count, and with
``as_known_at`` only rows written by then do (what the pipeline had ingested at that
moment). The two time-relative features, tenure and recency, are recomputed as of the label
time by the library's own transforms from the stored ``active_since`` / ``purchased_on``, so
the rows equal the ones :func:`training.dataset.build_training_rows` builds from ``raw/``.

The dataset is written as Parquet with a manifest next to it: the query, its Athena id,
the row count and a content hash of the rows (independent of the Parquet writer).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from featurestream.contract.params import FittedParams
from featurestream.contract.timeutil import parse_timestamp
from featurestream.contract.transforms import recency, tenure
from featurestream.offline.athena import QueryResult
from featurestream.offline.views import timestamp_literal
from training.dataset import MODEL_FEATURES, TrainingRow

PROFILE_COLUMNS = (
    "sex",
    "is_married",
    "age_18-29",
    "age_30-39",
    "age_40-49",
    "age_50-59",
    "age_60-69",
    "age_70-plus",
)

PIT_SQL = """\
WITH orders AS (
  SELECT customer_id, order_id, purchase_amount, is_reordered, purchased_on, event_time,
         from_iso8601_timestamp(event_time) AS at
  FROM (
    SELECT *, row_number() OVER (
      PARTITION BY order_id ORDER BY write_time, api_invocation_time
    ) AS copy
    FROM {orders}
    WHERE NOT is_deleted{orders_cutoff}
  )
  WHERE copy = 1
),
sequenced AS (
  SELECT *,
    lag(order_id) OVER (PARTITION BY customer_id ORDER BY at, order_id) AS prev_order_id,
    lag(purchase_amount) OVER (PARTITION BY customer_id ORDER BY at, order_id)
      AS prev_purchase_amount,
    lag(is_reordered) OVER (PARTITION BY customer_id ORDER BY at, order_id)
      AS prev_is_reordered,
    lag(purchased_on) OVER (PARTITION BY customer_id ORDER BY at, order_id)
      AS prev_purchased_on
  FROM orders
),
profiles AS (
  SELECT *, from_iso8601_timestamp(event_time) AS at
  FROM {customers}
  WHERE TRUE{customers_cutoff}
),
joined AS (
  SELECT s.customer_id, s.order_id, s.event_time AS label_time, s.is_reordered AS label,
    s.prev_purchase_amount, s.prev_is_reordered, s.prev_purchased_on,
    p."sex", p."is_married", p."age_18-29", p."age_30-39", p."age_40-49", p."age_50-59",
    p."age_60-69", p."age_70-plus", p.active_since, p.is_deleted AS profile_deleted,
    row_number() OVER (
      PARTITION BY s.order_id
      ORDER BY p.at DESC, p.api_invocation_time DESC, p.write_time DESC
    ) AS pick
  FROM sequenced s
  JOIN profiles p ON p.customer_id = s.customer_id AND p.at <= s.at
  WHERE s.prev_order_id IS NOT NULL
)
SELECT customer_id, order_id, label_time, label, prev_purchase_amount, prev_is_reordered,
  prev_purchased_on, "sex", "is_married", "age_18-29", "age_30-39", "age_40-49",
  "age_50-59", "age_60-69", "age_70-plus", active_since
FROM joined
WHERE pick = 1 AND NOT profile_deleted
ORDER BY customer_id, label_time, order_id
"""


def pit_query(as_known_at: datetime | None = None) -> str:
    """The training-set SQL (short names ``{customers}``/``{orders}``), optionally limited
    to rows written at or before ``as_known_at``."""
    cutoff = f" AND write_time <= {timestamp_literal(as_known_at)}" if as_known_at else ""
    return PIT_SQL.format(
        orders="{orders}", customers="{customers}", orders_cutoff=cutoff, customers_cutoff=cutoff
    )


def rows_from_result(
    result: QueryResult, params: FittedParams, customers: set[str] | None = None
) -> list[TrainingRow]:
    """The query's rows as training rows (``customers``: keep only those)."""
    names = [c.name for c in result.columns]
    rows: list[TrainingRow] = []
    for values in result.rows:
        row = dict(zip(names, values, strict=True))
        if customers is not None and row["customer_id"] not in customers:
            continue
        as_of = parse_timestamp(str(row["label_time"]))
        features: dict[str, float] = {name: float(row[name]) for name in PROFILE_COLUMNS}
        features["n_days_active"] = tenure(parse_timestamp(str(row["active_since"])), as_of, params)
        features["purchase_amount"] = float(row["prev_purchase_amount"])
        features["is_reordered"] = float(row["prev_is_reordered"])
        features["n_days_since_last_purchase"] = recency(
            parse_timestamp(str(row["prev_purchased_on"])), as_of, params
        )
        rows.append(
            TrainingRow(
                str(row["customer_id"]),
                str(row["order_id"]),
                as_of,
                tuple(features[f.name] for f in MODEL_FEATURES),
                int(row["label"]),
            )
        )
    return rows


def content_hash(rows: Sequence[TrainingRow]) -> str:
    """sha256 of the rows in a canonical text form (key order, floats as ``repr``)."""
    digest = hashlib.sha256()
    for row in sorted(rows, key=lambda r: (r.customer_id, r.as_of, r.order_id)):
        line = [row.customer_id, row.order_id, row.as_of.isoformat(), row.label, *row.features]
        digest.update((json.dumps(line, default=repr) + "\n").encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Dataset:
    parquet: Path
    manifest: Path
    rows: int
    sha256: str


def write_dataset(
    rows: Sequence[TrainingRow], path: Path, *, query: str, query_id: str, extra: dict[str, Any]
) -> Dataset:
    """The rows as Parquet at ``path`` and ``<path>.manifest.json`` (each written to a temp
    file, then renamed)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: dict[str, list[Any]] = {
        "customer_id": [r.customer_id for r in rows],
        "order_id": [r.order_id for r in rows],
        "as_of": [r.as_of for r in rows],
        "label": [r.label for r in rows],
    }
    for i, feature in enumerate(MODEL_FEATURES):
        columns[feature.name] = [r.features[i] for r in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as out:
        pq.write_table(pa.table(columns), out)
    tmp.replace(path)
    digest = content_hash(rows)
    manifest = path.with_name(path.name + ".manifest.json")
    doc = {
        "query": query,
        "athena_query_id": query_id,
        "row_count": len(rows),
        "content_sha256": digest,
        "columns": list(columns),
        **extra,
    }
    tmp = manifest.with_name(manifest.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    tmp.replace(manifest)
    return Dataset(path, manifest, len(rows), digest)
