"""gbsmart: the GB Smart Energy Code and the DCC's smart-metering services, in software."""

__version__ = "0.1.0"
