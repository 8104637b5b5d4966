"""`python -m devstack.rigs.chaos`: each share flag sets its own fault's share, the rest keep
their defaults."""

import pytest

from devstack.rigs.chaos.__main__ import SHARE_FLAGS, _parser, shares_from
from devstack.rigs.chaos.plan import Shares


def test_without_flags_every_share_is_the_default():
    assert shares_from(_parser().parse_args([])) == Shares()


@pytest.mark.parametrize(
    ("flag", "share"),
    [
        ("--throttle-share", "store_throttle"),
        ("--error-share", "store_error"),
        ("--partial-share", "partial_put"),
        ("--duplicate-share", "duplicate"),
    ],
)
def test_each_share_flag_sets_only_its_own_share(flag, share):
    shares = shares_from(_parser().parse_args([flag, "0.37"]))
    assert getattr(shares, share) == 0.37
    others = {name for _, name, _ in SHARE_FLAGS} - {share}
    assert all(getattr(shares, name) == getattr(Shares(), name) for name in others)
