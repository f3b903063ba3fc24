"""``python -m convnp``: the ``convnp`` command (see `convnp.cli`)."""

import sys

from convnp.cli import main

sys.exit(main())
