"""`ketadose serve`: a CDS Hooks 2.0 service (optional extra ``ketadose[serve]``).

Imported only by the `serve` command: the CLI's start-up never loads the web stack.
"""
