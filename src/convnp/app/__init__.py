"""Applications built on the library: the ``convnp`` command (`convnp.app.cli`) and the
course's two models (`convnp.app.zoo`). Nothing in the library imports this package."""
