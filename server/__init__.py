"""vocscore server: the gRPC service, its domain logic and its LMDB store."""

__version__ = "0.1.0"
