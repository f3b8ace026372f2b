// The corpus replay behind `make test`: feeds every file of the directories
// (or files) on the command line to the target's LLVMFuzzerTestOneInput, so a
// checked-in corpus is a regression test under the normal compiler. Built
// only without libFuzzer, which brings its own main().
#include "tests/fuzz/fuzz_check.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <vector>

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    fs::path arg = argv[i];
    if (fs::is_directory(arg)) {
      for (const auto& entry : fs::directory_iterator(arg))
        if (entry.is_regular_file())
          inputs.push_back(entry.path());
    } else {
      inputs.push_back(arg);
    }
  }
  // A missing or empty corpus would make the test pass without testing.
  if (inputs.empty()) {
    std::cerr << "no corpus inputs given\n";
    return 1;
  }
  std::sort(inputs.begin(), inputs.end());
  for (const auto& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (!in.eof() && !in) {
      std::cerr << "cannot read " << path << "\n";
      return 1;
    }
    // A fresh copy in its own allocation: ASan then catches reads past the end.
    std::vector<std::uint8_t> data(bytes.begin(), bytes.end());
    std::cerr << "replaying " << path.filename().string() << " (" << data.size() << " bytes)\n";
    LLVMFuzzerTestOneInput(data.data(), data.size());
  }
  std::cout << inputs.size() << " inputs replayed\n";
  return 0;
}
