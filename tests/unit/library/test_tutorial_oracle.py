"""The oracle states where the project departs from the notebook, and the library follows it.

Expected values are worked out by hand from the notebook's ``pd.cut`` call and the README.
"""

from datetime import UTC, date, datetime, timedelta, timezone

import pandas as pd
import pytest

from featurestream.contract.transforms import age_bins
from tests.reference import tutorial

BRASILIA = timezone(-timedelta(hours=2))


@pytest.mark.parametrize(
    ("age", "notebook", "readme"),
    [
        (18, "18-29", "18-29"),  # include_lowest: 18 is in the first bin either way
        (29, "18-29", "18-29"),
        (30, "18-29", "30-39"),  # right-closed (18, 30]: the notebook files 30 under 18-29
        (39, "30-39", "30-39"),
        (40, "30-39", "40-49"),
        (69, "60-69", "60-69"),
        (70, "60-69", "70-plus"),
        (90, "70-plus", "70-plus"),  # the notebook's last edge, inside its last bin
        (91, None, "70-plus"),  # beyond the notebook's last edge: no bin at all
    ],
)
def test_age_edges_notebook_versus_readme(age: int, notebook: str | None, readme: str) -> None:
    got_notebook = tutorial.tutorial_age_bins(pd.Series([age])).iloc[0]
    if notebook is None:
        assert pd.isna(got_notebook)
    else:
        assert got_notebook == notebook
    assert tutorial.readme_age_bins(pd.Series([age])).iloc[0] == readme
    library = age_bins(age)
    assert library[f"age_{readme}"] == 1
    assert sum(library.values()) == 1


@pytest.mark.parametrize(
    ("moment", "as_of", "days"),
    [
        (datetime(2021, 12, 31, 23, 59), datetime(2022, 1, 1, 0, 1, tzinfo=UTC), 1),
        (datetime(2021, 12, 31, 0, 0), datetime(2021, 12, 31, 23, 59, tzinfo=UTC), 0),
        (datetime(2020, 2, 28, 12), datetime(2020, 3, 1, 11, tzinfo=UTC), 2),  # leap day
        # 23:00 on the 31st at -02:00 is 01:00 UTC on the 1st: the UTC date counts
        (datetime(2021, 12, 31, 12), datetime(2021, 12, 31, 23, tzinfo=BRASILIA), 1),
    ],
)
def test_get_delta_days_counts_calendar_dates(moment: datetime, as_of: datetime, days: int) -> None:
    assert tutorial.get_delta_days(pd.Timestamp(moment), tutorial.as_of_date(as_of)) == days


def test_as_of_date_is_the_utc_date() -> None:
    tokyo = timezone(timedelta(hours=9))
    assert tutorial.as_of_date(datetime(2022, 1, 1, 8, 0, tzinfo=tokyo)) == date(2021, 12, 31)
