"""Local SageMaker Feature Store: a wire-compatible emulator backed by SQLite and Parquet.

boto3 clients reach it unchanged through ``AWS_ENDPOINT_URL_SAGEMAKER`` and
``AWS_ENDPOINT_URL_SAGEMAKER_FEATURESTORE_RUNTIME``; one port serves both services.
Behaviour follows the service's API references and the botocore models (see docs/emulator.md).
"""

from devstack.standins.featurestore.config import EmulatorConfig, FaultConfig, TiePolicy
from devstack.standins.featurestore.server import FeatureStoreEmulator

__all__ = ["EmulatorConfig", "FaultConfig", "FeatureStoreEmulator", "TiePolicy"]
