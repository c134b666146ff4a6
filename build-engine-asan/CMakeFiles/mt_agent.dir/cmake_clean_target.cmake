file(REMOVE_RECURSE
  "libmt_agent.a"
)
