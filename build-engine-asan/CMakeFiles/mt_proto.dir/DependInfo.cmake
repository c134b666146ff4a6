
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/proto/blob.c" "CMakeFiles/mt_proto.dir/proto/blob.c.o" "gcc" "CMakeFiles/mt_proto.dir/proto/blob.c.o.d"
  "/work/main/proto/codec.c" "CMakeFiles/mt_proto.dir/proto/codec.c.o" "gcc" "CMakeFiles/mt_proto.dir/proto/codec.c.o.d"
  "/work/main/proto/log.c" "CMakeFiles/mt_proto.dir/proto/log.c.o" "gcc" "CMakeFiles/mt_proto.dir/proto/log.c.o.d"
  "/work/main/proto/spec.c" "CMakeFiles/mt_proto.dir/proto/spec.c.o" "gcc" "CMakeFiles/mt_proto.dir/proto/spec.c.o.d"
  "/work/main/proto/util.c" "CMakeFiles/mt_proto.dir/proto/util.c.o" "gcc" "CMakeFiles/mt_proto.dir/proto/util.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
