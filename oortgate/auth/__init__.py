"""Sans-I/O request authentication: SigV4, aws-chunked bodies and payload checksums."""
