file(REMOVE_RECURSE
  "libmt_proto.a"
)
