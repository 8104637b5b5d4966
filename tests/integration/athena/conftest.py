"""An emulator registering its tables in moto's Glue and an Athena stand-in reading them."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from devstack.standins.athena.server import AthenaStandIn
from devstack.standins.featurestore.server import FeatureStoreEmulator

RESULTS_BUCKET = "athena-results"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass
class OfflineStack:
    emulator: FeatureStoreEmulator
    athena: AthenaStandIn
    moto: str

    def client(self, service: str) -> Any:
        endpoint = {
            "athena": self.athena.endpoint_url,
            "sagemaker": self.emulator.endpoint_url,
            "sagemaker-featurestore-runtime": self.emulator.endpoint_url,
        }.get(service, self.moto)
        return boto3.client(  # type: ignore[call-overload]
            service, endpoint_url=endpoint, region_name="us-east-1", **CREDENTIALS
        )


@pytest.fixture(scope="module")
def offline_stack(
    tmp_path_factory: pytest.TempPathFactory, moto_server: str
) -> Iterator[OfflineStack]:
    state: Path = tmp_path_factory.mktemp("offline-stack")
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        **CREDENTIALS,
    )
    s3.create_bucket(Bucket=RESULTS_BUCKET)
    emulator = FeatureStoreEmulator(
        state / "featurestore", offline_flush_interval=0.2, glue_endpoint=moto_server
    )
    with emulator:
        athena = AthenaStandIn(
            state / "athena", emulator.config.offline_dir, moto_server, moto_server
        )
        with athena:
            yield OfflineStack(emulator, athena, moto_server)
