# Empty dependencies file for mtworker.
# This may be replaced when dependencies are built.
