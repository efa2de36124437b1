/*
 * state_demo: Faasm's state calls from C, each checked, on keys scoped to
 * the calling user: write, size, read, write/read at an offset, append,
 * a file into state, and a mapped region pushed through a mask.
 * Output: one line per step, e.g. "read=hello size=5".
 *
 *   clang --target=wasm32-wasi -O2 -I sdk/c examples/c/state_demo.c -o state_demo.wasm
 */
#include <faasm.h>
#include <stdio.h>
#include <string.h>

static char out[512];
static int used = 0;

static void say(const char *line) {
    used += snprintf(out + used, sizeof out - used, "%s\n", line);
}

FAASM_MAIN(state_demo) {
    char line[128];
    uint8_t buf[32] = {0};

    faasmWriteState("greeting", BYTES("hello"), 5);
    long size = faasmReadState("greeting", buf, sizeof buf);
    snprintf(line, sizeof line, "read=%.*s size=%zu", (int)size, buf, faasmReadStateSize("greeting"));
    say(line);

    faasmWriteStateOffset("greeting", 8, 5, BYTES("!!!"), 3);
    memset(buf, 0, sizeof buf);
    faasmReadStateOffset("greeting", 8, 1, buf, 7);
    snprintf(line, sizeof line, "offset=%s size=%zu", buf, faasmReadStateSize("greeting"));
    say(line);

    faasmClearAppendedState("log");
    faasmAppendState("log", BYTES("ab"), 2);
    faasmAppendState("log", BYTES("cde"), 3);
    memset(buf, 0, sizeof buf);
    faasmReadAppendedState("log", buf, 5, 2);
    snprintf(line, sizeof line, "appended=%s", buf);
    say(line);

    FILE *f = fopen("/state_demo.txt", "w");
    if (!f)
        return 1;
    fputs("from a file", f);
    fclose(f);
    unsigned long fromFile = faasmWriteStateFromFile("file", "/state_demo.txt");
    memset(buf, 0, sizeof buf);
    faasmReadState("file", buf, sizeof buf - 1);
    snprintf(line, sizeof line, "file=%s (%lu)", buf, fromFile);
    say(line);

    uint8_t *region = faasmReadStatePtr("vec", 4);
    uint8_t *mask = faasmReadStatePtr("vec-mask", 4);
    memcpy(region, "WXYZ", 4);
    memset(mask, 1, 4);
    faasmPushStatePartialMask("vec", "vec-mask");
    memset(buf, 0, sizeof buf);
    faasmReadState("vec", buf, 4);
    snprintf(line, sizeof line, "masked=%s flag=%u,%u", buf, getConfFlag("ALWAYS_ON"),
             getConfFlag("PYTHON_PRELOAD"));
    say(line);

    faasmSetOutput(out, used);
    return 0;
}
