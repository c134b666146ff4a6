file(REMOVE_RECURSE
  "CMakeFiles/mtclient.dir/client/mtclient.c.o"
  "CMakeFiles/mtclient.dir/client/mtclient.c.o.d"
  "mtclient"
  "mtclient.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/mtclient.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
