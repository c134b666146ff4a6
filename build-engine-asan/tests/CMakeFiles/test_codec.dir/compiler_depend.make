# Empty compiler generated dependencies file for test_codec.
# This may be replaced when dependencies are built.
