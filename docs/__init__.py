# Makes this folder the package ketadose.docs (setup.cfg: package_dir, package_data), as
# regimens/ is ketadose.regimens: `ketadose docs` finds the user documents through the import
# system, in a wheel and in an editable install alike. No code.
