# Empty compiler generated dependencies file for mtclient.
# This may be replaced when dependencies are built.
