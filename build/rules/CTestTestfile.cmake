# CMake generated Testfile for 
# Source directory: /work/main/rules
# Build directory: /work/main/build/rules
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
