"""The Central Products List (SEC F2, CPL Requirements): Device Models, certificates, submissions, lifecycle."""
