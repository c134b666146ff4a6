# Empty compiler generated dependencies file for mt_agent.
# This may be replaced when dependencies are built.
