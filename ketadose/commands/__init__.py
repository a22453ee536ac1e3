"""One module per command family: the glue between the CLI, the core and the renderers."""
