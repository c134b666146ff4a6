file(REMOVE_RECURSE
  "CMakeFiles/mt_client.dir/client/cmd.c.o"
  "CMakeFiles/mt_client.dir/client/cmd.c.o.d"
  "CMakeFiles/mt_client.dir/client/cmd_fetch.c.o"
  "CMakeFiles/mt_client.dir/client/cmd_fetch.c.o.d"
  "CMakeFiles/mt_client.dir/client/cmd_list.c.o"
  "CMakeFiles/mt_client.dir/client/cmd_list.c.o.d"
  "CMakeFiles/mt_client.dir/client/cmd_status.c.o"
  "CMakeFiles/mt_client.dir/client/cmd_status.c.o.d"
  "CMakeFiles/mt_client.dir/client/cmd_stop.c.o"
  "CMakeFiles/mt_client.dir/client/cmd_stop.c.o.d"
  "CMakeFiles/mt_client.dir/client/cmd_submit.c.o"
  "CMakeFiles/mt_client.dir/client/cmd_submit.c.o.d"
  "CMakeFiles/mt_client.dir/client/cmd_workers.c.o"
  "CMakeFiles/mt_client.dir/client/cmd_workers.c.o.d"
  "CMakeFiles/mt_client.dir/client/conn.c.o"
  "CMakeFiles/mt_client.dir/client/conn.c.o.d"
  "CMakeFiles/mt_client.dir/client/render.c.o"
  "CMakeFiles/mt_client.dir/client/render.c.o.d"
  "libmt_client.a"
  "libmt_client.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/mt_client.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
