file(REMOVE_RECURSE
  "libmt_engine.a"
)
