"""The locks are the truth of what is installed: complete, in step with their inputs, and
the Lambda bundle's pins are the ones the tests ran with."""

import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tools"))
import locks  # noqa: E402

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> list[Requirement]:
    project = PYPROJECT["project"]
    return [
        Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    ]


def test_every_declared_requirement_is_satisfied_by_its_pin_in_the_dev_lock():
    pins = locks.pins(locks.LOCKS / "dev.txt")
    for requirement in _declared():
        versions = pins.get(_normal(requirement.name))
        assert versions, f"{requirement.name} is declared but not locked: run `make lock`"
        for version in versions:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"requirements/dev.txt pins {requirement.name}=={version}, outside {requirement}: "
                "run `make lock`"
            )


def test_the_environment_holds_exactly_the_dev_lock():
    pins = locks.pins(locks.LOCKS / "dev.txt")
    installed = {
        _normal(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"]
    }
    installed.pop("featurestream")
    installed.pop("pip", None)  # the venv's own installer, from `python -m venv`
    unlocked = sorted(set(installed) - set(pins))
    assert unlocked == [], f"installed but not in the lock: {unlocked}"
    wrong = {name: v for name, v in installed.items() if v not in pins[name]}
    assert wrong == {}, f"installed at other versions than locked: {wrong}"


def test_the_lambda_bundle_pins_are_the_dev_lock_s():
    bundle = locks.pins(locks.LAMBDA_TXT)
    dev = locks.pins(locks.LOCKS / "dev.txt")
    for name, versions in bundle.items():
        assert len(versions) == 1, f"{name} pinned twice in functions/requirements.txt"
        assert versions <= dev.get(name, set()), (
            f"functions/requirements.txt pins {name}=={next(iter(versions))}, the dev lock "
            f"{sorted(dev.get(name, []))}: run `make lock`"
        )
    wanted = [
        Requirement(line)
        for line in locks.LAMBDA_IN.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for requirement in wanted:
        assert _normal(requirement.name) in bundle
    assert "pandas" not in bundle and "scikit-learn" not in bundle
    assert "--hash" not in locks.LAMBDA_TXT.read_text()  # sam build's pip installs it as is


@pytest.mark.parametrize("lock", locks.ALL_LOCKS, ids=lambda lock: lock.name)
def test_each_lock_pins_with_hashes_and_holds_its_inputs(lock):
    text = lock.path.read_text()
    pins = locks.pins(lock.path)
    assert len(pins) > 5
    assert all(
        "--hash=sha256:" in entry for entry in re.split(r"\n(?=[a-z0-9])", text) if "==" in entry
    )
    for source in lock.inputs:
        path = REPO / source
        if path.suffix != ".in":
            continue
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                requirement = Requirement(line)
                versions = pins[_normal(requirement.name)]
                assert all(requirement.specifier.contains(v) for v in versions)


def test_packages_whose_internals_are_patched_are_pinned_exactly_to_the_patched_version():
    from devstack.standins.moto_service import MOTO_VERSION
    from featurestream.aws.clients import BOTOCORE_VERSION

    declared = {_normal(r.name): str(r.specifier) for r in _declared()}
    assert declared["moto"] == f"=={MOTO_VERSION}"
    assert declared["botocore"] == f"=={BOTOCORE_VERSION}"
    import botocore
    import moto

    assert moto.__version__ == MOTO_VERSION, (
        f"moto {moto.__version__} is installed; devstack.standins.moto_service was verified against "
        f"moto {MOTO_VERSION}: run `make install`, or re-verify the patch (docs/dependencies.md)"
    )
    assert botocore.__version__ == BOTOCORE_VERSION, (
        f"botocore {botocore.__version__} is installed; featurestream.aws.clients' parser hooks "
        f"were verified against botocore {BOTOCORE_VERSION}: run `make install`, or re-verify"
    )


def test_bootstrap_gives_uv_s_locked_entry_with_hashes():
    block = locks.bootstrap_block("uv")
    assert block.startswith(f"uv=={next(iter(locks.pins(locks.LOCKS / 'dev.txt')['uv']))} ")
    assert block.count("--hash=sha256:") >= 2
