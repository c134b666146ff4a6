file(REMOVE_RECURSE
  "CMakeFiles/mt_proto.dir/proto/blob.c.o"
  "CMakeFiles/mt_proto.dir/proto/blob.c.o.d"
  "CMakeFiles/mt_proto.dir/proto/codec.c.o"
  "CMakeFiles/mt_proto.dir/proto/codec.c.o.d"
  "CMakeFiles/mt_proto.dir/proto/log.c.o"
  "CMakeFiles/mt_proto.dir/proto/log.c.o.d"
  "CMakeFiles/mt_proto.dir/proto/spec.c.o"
  "CMakeFiles/mt_proto.dir/proto/spec.c.o.d"
  "CMakeFiles/mt_proto.dir/proto/util.c.o"
  "CMakeFiles/mt_proto.dir/proto/util.c.o.d"
  "libmt_proto.a"
  "libmt_proto.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/mt_proto.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
