"""Public key infrastructure commands: the test PKI whose SECAS certificate signs CPL extracts."""
