
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/client/cmd.c" "CMakeFiles/mt_client.dir/client/cmd.c.o" "gcc" "CMakeFiles/mt_client.dir/client/cmd.c.o.d"
  "/work/main/client/cmd_fetch.c" "CMakeFiles/mt_client.dir/client/cmd_fetch.c.o" "gcc" "CMakeFiles/mt_client.dir/client/cmd_fetch.c.o.d"
  "/work/main/client/cmd_list.c" "CMakeFiles/mt_client.dir/client/cmd_list.c.o" "gcc" "CMakeFiles/mt_client.dir/client/cmd_list.c.o.d"
  "/work/main/client/cmd_status.c" "CMakeFiles/mt_client.dir/client/cmd_status.c.o" "gcc" "CMakeFiles/mt_client.dir/client/cmd_status.c.o.d"
  "/work/main/client/cmd_stop.c" "CMakeFiles/mt_client.dir/client/cmd_stop.c.o" "gcc" "CMakeFiles/mt_client.dir/client/cmd_stop.c.o.d"
  "/work/main/client/cmd_submit.c" "CMakeFiles/mt_client.dir/client/cmd_submit.c.o" "gcc" "CMakeFiles/mt_client.dir/client/cmd_submit.c.o.d"
  "/work/main/client/cmd_workers.c" "CMakeFiles/mt_client.dir/client/cmd_workers.c.o" "gcc" "CMakeFiles/mt_client.dir/client/cmd_workers.c.o.d"
  "/work/main/client/conn.c" "CMakeFiles/mt_client.dir/client/conn.c.o" "gcc" "CMakeFiles/mt_client.dir/client/conn.c.o.d"
  "/work/main/client/render.c" "CMakeFiles/mt_client.dir/client/render.c.o" "gcc" "CMakeFiles/mt_client.dir/client/render.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build-data/CMakeFiles/mt_engine.dir/DependInfo.cmake"
  "/work/main/build-data/CMakeFiles/mt_proto.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
