"""``python -m etl.cli``."""

from etl.cli.main import main

raise SystemExit(main())
