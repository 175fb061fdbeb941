"""Domain-free kit: database, clock, errors, audit, security, pagination."""
