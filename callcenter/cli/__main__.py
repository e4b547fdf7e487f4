"""``python -m callcenter.cli``: the ``callcenter`` command without its script."""

from callcenter.cli.main import main

raise SystemExit(main())
