"""The id formats of the event contract, apart from its pydantic models.

The inference API checks customer ids against the same pattern the events use, and its
import path (a Lambda cold start) does not need pydantic and the event models for that.
"""

from typing import Final

CUSTOMER_ID_PATTERN: Final = r"^C[1-9][0-9]{0,17}$"
ORDER_ID_PATTERN: Final = r"^O[1-9][0-9]{0,17}$"
PRODUCT_ID_PATTERN: Final = r"^P[1-9][0-9]{0,17}$"
