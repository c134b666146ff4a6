file(REMOVE_RECURSE
  "CMakeFiles/test_mlp.dir/unit/test_mlp.c.o"
  "CMakeFiles/test_mlp.dir/unit/test_mlp.c.o.d"
  "test_mlp"
  "test_mlp.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_mlp.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
