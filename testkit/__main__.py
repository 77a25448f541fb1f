"""`python -m testkit`: see `testkit._cli`."""

from testkit._cli import main

raise SystemExit(main())
