"""Stand-ins for the AWS services the stack uses: the Feature Store emulator, moto, the model
endpoint, the API gateway and the Kinesis trigger runner."""
