file(REMOVE_RECURSE
  "CMakeFiles/mt_engine.dir/worker/csv.c.o"
  "CMakeFiles/mt_engine.dir/worker/csv.c.o.d"
  "CMakeFiles/mt_engine.dir/worker/dataset.c.o"
  "CMakeFiles/mt_engine.dir/worker/dataset.c.o.d"
  "CMakeFiles/mt_engine.dir/worker/mlp.c.o"
  "CMakeFiles/mt_engine.dir/worker/mlp.c.o.d"
  "CMakeFiles/mt_engine.dir/worker/model.c.o"
  "CMakeFiles/mt_engine.dir/worker/model.c.o.d"
  "CMakeFiles/mt_engine.dir/worker/numparse.c.o"
  "CMakeFiles/mt_engine.dir/worker/numparse.c.o.d"
  "CMakeFiles/mt_engine.dir/worker/optim.c.o"
  "CMakeFiles/mt_engine.dir/worker/optim.c.o.d"
  "CMakeFiles/mt_engine.dir/worker/predict.c.o"
  "CMakeFiles/mt_engine.dir/worker/predict.c.o.d"
  "CMakeFiles/mt_engine.dir/worker/rng.c.o"
  "CMakeFiles/mt_engine.dir/worker/rng.c.o.d"
  "CMakeFiles/mt_engine.dir/worker/train.c.o"
  "CMakeFiles/mt_engine.dir/worker/train.c.o.d"
  "libmt_engine.a"
  "libmt_engine.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/mt_engine.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
