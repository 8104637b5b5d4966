"""A local SageMaker runtime ``InvokeEndpoint`` on loopback, serving the repo's model with
its own ``model/code/inference.py`` (reached through ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``)."""
