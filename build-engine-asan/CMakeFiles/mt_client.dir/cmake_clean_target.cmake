file(REMOVE_RECURSE
  "libmt_client.a"
)
