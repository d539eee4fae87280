"""vocscore clients: the Python client library, the `vocscore` CLI and the generated protobuf code."""
