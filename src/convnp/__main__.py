"""``python -m convnp``: the ``convnp`` command (see `convnp.app.cli`)."""

import sys

from convnp.app.cli import main

sys.exit(main())
