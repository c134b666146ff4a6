# Empty compiler generated dependencies file for test_dataset.
# This may be replaced when dependencies are built.
