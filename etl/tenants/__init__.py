"""One folder per tenant: ``config.yaml`` plus optional ``assets/transfer.py``.

Start a new tenant with ``make tenant NAME=<id>`` (or ``etl tenant new <id>``), which copies
``_template`` and registers the code location.
"""
