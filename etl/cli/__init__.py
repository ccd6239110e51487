"""The ``etl`` command: one module per subcommand, listed in :mod:`etl.cli.main`."""
