# Empty compiler generated dependencies file for mt_engine.
# This may be replaced when dependencies are built.
