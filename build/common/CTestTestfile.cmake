# CMake generated Testfile for 
# Source directory: /work/main/common
# Build directory: /work/main/build/common
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/build/common/common_test[1]_include.cmake")
