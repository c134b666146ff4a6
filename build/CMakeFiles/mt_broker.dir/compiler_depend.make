# Empty compiler generated dependencies file for mt_broker.
# This may be replaced when dependencies are built.
