file(REMOVE_RECURSE
  "CMakeFiles/mt_broker.dir/broker/broker.c.o"
  "CMakeFiles/mt_broker.dir/broker/broker.c.o.d"
  "CMakeFiles/mt_broker.dir/broker/fleet.c.o"
  "CMakeFiles/mt_broker.dir/broker/fleet.c.o.d"
  "CMakeFiles/mt_broker.dir/broker/store.c.o"
  "CMakeFiles/mt_broker.dir/broker/store.c.o.d"
  "libmt_broker.a"
  "libmt_broker.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/mt_broker.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
