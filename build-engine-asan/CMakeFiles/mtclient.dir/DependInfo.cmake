
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/client/mtclient.c" "CMakeFiles/mtclient.dir/client/mtclient.c.o" "gcc" "CMakeFiles/mtclient.dir/client/mtclient.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build-engine-asan/CMakeFiles/mt_client.dir/DependInfo.cmake"
  "/work/main/build-engine-asan/CMakeFiles/mt_engine.dir/DependInfo.cmake"
  "/work/main/build-engine-asan/CMakeFiles/mt_proto.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
