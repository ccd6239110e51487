"""``python -m etl.cli``."""

from etl.cli import main

raise SystemExit(main())
