file(REMOVE_RECURSE
  "CMakeFiles/mt_agent.dir/worker/agent.c.o"
  "CMakeFiles/mt_agent.dir/worker/agent.c.o.d"
  "libmt_agent.a"
  "libmt_agent.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/mt_agent.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
