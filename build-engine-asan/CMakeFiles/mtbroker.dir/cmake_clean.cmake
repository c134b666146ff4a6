file(REMOVE_RECURSE
  "CMakeFiles/mtbroker.dir/broker/mtbroker.c.o"
  "CMakeFiles/mtbroker.dir/broker/mtbroker.c.o.d"
  "mtbroker"
  "mtbroker.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/mtbroker.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
