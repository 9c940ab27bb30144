// flowlift: the command line over flowliftd's control socket. All of it is
// slowpath/cli.h (so that it is unit-tested); this only hands it argv.
#include <iostream>
#include <string>
#include <vector>

#include "slowpath/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> arguments(argv + 1, argv + argc);
  return flowlift::run_cli(arguments, std::cin, std::cout, std::cerr);
}
