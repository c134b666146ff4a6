# Empty compiler generated dependencies file for mt_client.
# This may be replaced when dependencies are built.
