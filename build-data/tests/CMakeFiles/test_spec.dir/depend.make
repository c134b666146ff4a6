# Empty dependencies file for test_spec.
# This may be replaced when dependencies are built.
