# Empty dependencies file for mtbroker.
# This may be replaced when dependencies are built.
