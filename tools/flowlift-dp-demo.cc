// flowlift-dp-demo: runs a datapath script (kmod/datapath_script.h) and
// prints what happened to every packet and the megaflow dump with counters.
#include <fstream>
#include <iostream>
#include <sstream>

#include "kmod/datapath_script.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: flowlift-dp-demo SCRIPT\n";
    return 2;
  }
  std::ifstream file(argv[1]);
  if (!file) {
    std::cerr << "flowlift-dp-demo: cannot open " << argv[1] << "\n";
    return 1;
  }
  std::stringstream text;
  text << file.rdbuf();
  auto script = flowlift::parse_datapath_script(text.str());
  if (!script) {
    std::cerr << "flowlift-dp-demo: " << argv[1] << ": " << script.status().message() << "\n";
    return 1;
  }
  auto run = flowlift::run_datapath_script(*script, std::cout);
  if (!run) {
    std::cerr << "flowlift-dp-demo: " << run.status().message() << "\n";
    return 1;
  }
  return 0;
}
