# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build-data/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test(unit_codec "/work/main/build-data/tests/test_codec")
set_tests_properties(unit_codec PROPERTIES  ENVIRONMENT "MT_TEST_DATA=/work/main/test_data;MT_SOURCE_DIR=/work/main;MT_BIN_DIR=/work/main/build-data;OPENBLAS_NUM_THREADS=1" TIMEOUT "600" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_dataset "/work/main/build-data/tests/test_dataset")
set_tests_properties(unit_dataset PROPERTIES  ENVIRONMENT "MT_TEST_DATA=/work/main/test_data;MT_SOURCE_DIR=/work/main;MT_BIN_DIR=/work/main/build-data;OPENBLAS_NUM_THREADS=1" TIMEOUT "600" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_golden "/work/main/build-data/tests/test_golden")
set_tests_properties(unit_golden PROPERTIES  ENVIRONMENT "MT_TEST_DATA=/work/main/test_data;MT_SOURCE_DIR=/work/main;MT_BIN_DIR=/work/main/build-data;OPENBLAS_NUM_THREADS=1" TIMEOUT "600" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_mlp "/work/main/build-data/tests/test_mlp")
set_tests_properties(unit_mlp PROPERTIES  ENVIRONMENT "MT_TEST_DATA=/work/main/test_data;MT_SOURCE_DIR=/work/main;MT_BIN_DIR=/work/main/build-data;OPENBLAS_NUM_THREADS=1" TIMEOUT "600" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_model "/work/main/build-data/tests/test_model")
set_tests_properties(unit_model PROPERTIES  ENVIRONMENT "MT_TEST_DATA=/work/main/test_data;MT_SOURCE_DIR=/work/main;MT_BIN_DIR=/work/main/build-data;OPENBLAS_NUM_THREADS=1" TIMEOUT "600" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_optim "/work/main/build-data/tests/test_optim")
set_tests_properties(unit_optim PROPERTIES  ENVIRONMENT "MT_TEST_DATA=/work/main/test_data;MT_SOURCE_DIR=/work/main;MT_BIN_DIR=/work/main/build-data;OPENBLAS_NUM_THREADS=1" TIMEOUT "600" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_spec "/work/main/build-data/tests/test_spec")
set_tests_properties(unit_spec PROPERTIES  ENVIRONMENT "MT_TEST_DATA=/work/main/test_data;MT_SOURCE_DIR=/work/main;MT_BIN_DIR=/work/main/build-data;OPENBLAS_NUM_THREADS=1" TIMEOUT "600" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_train "/work/main/build-data/tests/test_train")
set_tests_properties(unit_train PROPERTIES  ENVIRONMENT "MT_TEST_DATA=/work/main/test_data;MT_SOURCE_DIR=/work/main;MT_BIN_DIR=/work/main/build-data;OPENBLAS_NUM_THREADS=1" TIMEOUT "600" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;16;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(torch_load_in_torch "bash" "/work/main/tests/torch/test_load_in_torch.sh")
set_tests_properties(torch_load_in_torch PROPERTIES  ENVIRONMENT "MT_TEST_DATA=/work/main/test_data;MT_SOURCE_DIR=/work/main;MT_BIN_DIR=/work/main/build-data;OPENBLAS_NUM_THREADS=1" SKIP_RETURN_CODE "77" TIMEOUT "900" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;32;add_test;/work/main/tests/CMakeLists.txt;0;")
