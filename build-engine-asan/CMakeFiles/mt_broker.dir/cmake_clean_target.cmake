file(REMOVE_RECURSE
  "libmt_broker.a"
)
