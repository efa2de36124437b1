// files.cpp: file I/O from a C++ function with fstreams. A function's "/"
// is its user's tree ($FAASM_HOME/users/USER/fs). It writes the input to
// /notes/a.txt, appends to it, reads it back, lists /notes, renames the
// file and checks the old name is gone, and keeps /notes/last.txt with
// the input. Output for input "hi":
//   "read=hi! list=a.txt,last.txt renamed=hi! gone=1"
//
//   clang++ --target=wasm32-wasi -O2 -I sdk/c examples/cpp/files.cpp -o files-cpp.wasm
#include <faasm/faasm.h>
#include <faasm/input.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

static std::string slurp(const char *path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

FAASM_MAIN_FUNC() {
    std::string input = faasm::getStringInput("");
    if (mkdir("/notes", 0755) != 0 && errno != EEXIST)
        return 1;
    {
        std::ofstream out("/notes/a.txt", std::ios::trunc);
        out << input;
    }
    {
        std::ofstream out("/notes/a.txt", std::ios::app);
        out << "!";
    }
    std::ofstream("/notes/last.txt", std::ios::trunc) << input;
    std::string read = slurp("/notes/a.txt");

    std::vector<std::string> names;
    if (DIR *d = opendir("/notes")) {
        while (dirent *e = readdir(d))
            if (e->d_name[0] != '.')
                names.push_back(e->d_name);
        closedir(d);
    }
    std::sort(names.begin(), names.end());
    std::string list;
    for (const auto &n : names)
        list += (list.empty() ? "" : ",") + n;

    if (std::rename("/notes/a.txt", "/notes/b.txt") != 0)
        return 2;
    std::string renamed = slurp("/notes/b.txt");
    bool gone = !std::ifstream("/notes/a.txt").good();
    std::remove("/notes/b.txt");

    std::string out =
        "read=" + read + " list=" + list + " renamed=" + renamed + " gone=" + (gone ? "1" : "0");
    faasmSetOutput(out.c_str(), out.size());
    return 0;
}
