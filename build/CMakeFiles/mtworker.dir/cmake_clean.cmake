file(REMOVE_RECURSE
  "CMakeFiles/mtworker.dir/worker/mtworker.c.o"
  "CMakeFiles/mtworker.dir/worker/mtworker.c.o.d"
  "mtworker"
  "mtworker.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/mtworker.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
