# Empty compiler generated dependencies file for mt_proto.
# This may be replaced when dependencies are built.
