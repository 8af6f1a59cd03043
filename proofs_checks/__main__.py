"""``python -m proofs_checks`` is the ``memgen`` command."""

import sys

from proofs_checks.cli import main

sys.exit(main())
