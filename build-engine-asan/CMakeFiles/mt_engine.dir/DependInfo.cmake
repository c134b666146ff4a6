
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/worker/csv.c" "CMakeFiles/mt_engine.dir/worker/csv.c.o" "gcc" "CMakeFiles/mt_engine.dir/worker/csv.c.o.d"
  "/work/main/worker/dataset.c" "CMakeFiles/mt_engine.dir/worker/dataset.c.o" "gcc" "CMakeFiles/mt_engine.dir/worker/dataset.c.o.d"
  "/work/main/worker/mlp.c" "CMakeFiles/mt_engine.dir/worker/mlp.c.o" "gcc" "CMakeFiles/mt_engine.dir/worker/mlp.c.o.d"
  "/work/main/worker/model.c" "CMakeFiles/mt_engine.dir/worker/model.c.o" "gcc" "CMakeFiles/mt_engine.dir/worker/model.c.o.d"
  "/work/main/worker/numparse.c" "CMakeFiles/mt_engine.dir/worker/numparse.c.o" "gcc" "CMakeFiles/mt_engine.dir/worker/numparse.c.o.d"
  "/work/main/worker/optim.c" "CMakeFiles/mt_engine.dir/worker/optim.c.o" "gcc" "CMakeFiles/mt_engine.dir/worker/optim.c.o.d"
  "/work/main/worker/predict.c" "CMakeFiles/mt_engine.dir/worker/predict.c.o" "gcc" "CMakeFiles/mt_engine.dir/worker/predict.c.o.d"
  "/work/main/worker/rng.c" "CMakeFiles/mt_engine.dir/worker/rng.c.o" "gcc" "CMakeFiles/mt_engine.dir/worker/rng.c.o.d"
  "/work/main/worker/train.c" "CMakeFiles/mt_engine.dir/worker/train.c.o" "gcc" "CMakeFiles/mt_engine.dir/worker/train.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build-engine-asan/CMakeFiles/mt_proto.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
