"""``python -m alqa.compare``: the same command as ``alqa-compare``."""

from alqa.compare.cli import main

raise SystemExit(main())
