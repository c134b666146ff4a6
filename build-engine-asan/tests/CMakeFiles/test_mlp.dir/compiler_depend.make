# Empty compiler generated dependencies file for test_mlp.
# This may be replaced when dependencies are built.
