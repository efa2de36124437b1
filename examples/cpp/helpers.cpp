// helpers.cpp: libfaasm's helper headers in use. Input: a typed int (4
// bytes, little-endian) is read back, a list of integers is parsed,
// compared, shuffled and printed. Output (printed): lines checked by
// tests/cpp_examples.rs.
//
//   clang++ --target=wasm32-wasi -O2 -I sdk/c examples/cpp/helpers.cpp -o helpers-cpp.wasm
#include <faasm/compare.h>
#include <faasm/faasm.h>
#include <faasm/files.h>
#include <faasm/input.h>
#include <faasm/print.h>
#include <faasm/random.h>
#include <faasm/time.h>

#include <algorithm>
#include <cstdio>

FAASM_MAIN_FUNC() {
    const char *text = faasm::getStringInput("3 1 2");
    int *parsed = faasm::parseStringToIntArray(text, 3);
    int want[3] = {3, 1, 2};
    std::printf("parsed equal: %d\n", faasm::compareArrays(parsed, want, 3) ? 1 : 0);
    faasm::printArray(parsed, 3);

    int *range = faasm::randomIntRange(5);
    std::sort(range, range + 5);
    faasm::printArray(range, 5);
    int r = faasm::randomInteger(10, 12);
    float f = faasm::randomFloat();
    std::printf("random in range: %d\n", r >= 10 && r <= 12 && f >= 0 && f < 1 ? 1 : 0);
    std::printf("random string: %zu\n", faasm::randomString(7).size());
    std::printf("epoch ok: %d\n", faasm::getSecondsSinceEpoch() > 1.6e9 ? 1 : 0);

    FILE *out = std::fopen("/helpers.txt", "w");
    std::fputs("file text", out);
    std::fclose(out);
    char *back = faasm::readFileToString("/helpers.txt");
    std::printf("file: %s (%ld)\n", back, faasm::getFileLength("/helpers.txt"));
    std::free(back);
    delete[] parsed;
    delete[] range;
    return 0;
}
