/*
 * file_io: file I/O from a C function with the SDK and stdio. A function's
 * "/" is its user's tree ($FAASM_HOME/users/USER/fs). It writes the input
 * to /notes/a.txt, appends to it, reads it back, lists /notes, renames the
 * file and checks the old name is gone, and keeps /notes/last.txt with the
 * input. Output for input "hi":
 *   "read=hi! list=a.txt,last.txt renamed=hi! gone=1"
 *
 *   clang --target=wasm32-wasi -O2 -I sdk/c examples/c/file_io.c -o file_io.wasm
 */
#include <dirent.h>
#include <errno.h>
#include <faasm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int write_file(const char *path, const char *mode, const char *text, size_t len) {
    FILE *f = fopen(path, mode);
    if (!f)
        return -1;
    size_t n = fwrite(text, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

static size_t read_file(const char *path, char *buf, size_t cap) {
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = 0;
    return n;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

FAASM_MAIN(file_io) {
    char input[256];
    size_t len = faasmGetInputSize();
    if (len >= sizeof input)
        return 1;
    faasmGetInput((uint8_t *)input, len);
    if (mkdir("/notes", 0755) != 0 && errno != EEXIST)
        return 2;
    if (write_file("/notes/a.txt", "w", input, len) || write_file("/notes/a.txt", "a", "!", 1) ||
        write_file("/notes/last.txt", "w", input, len))
        return 3;
    char read[260];
    read_file("/notes/a.txt", read, sizeof read);

    char *names[16];
    int count = 0;
    DIR *d = opendir("/notes");
    if (!d)
        return 4;
    struct dirent *e;
    while ((e = readdir(d)) && count < 16)
        if (e->d_name[0] != '.')
            names[count++] = strdup(e->d_name);
    closedir(d);
    qsort(names, count, sizeof names[0], by_name);
    char list[256] = "";
    for (int i = 0; i < count; i++) {
        if (i)
            strcat(list, ",");
        strncat(list, names[i], sizeof list - strlen(list) - 2);
        free(names[i]);
    }

    if (rename("/notes/a.txt", "/notes/b.txt") != 0)
        return 5;
    char renamed[260];
    read_file("/notes/b.txt", renamed, sizeof renamed);
    FILE *old = fopen("/notes/a.txt", "r");
    int gone = old == NULL && errno == ENOENT;
    if (old)
        fclose(old);
    remove("/notes/b.txt");

    char out[800];
    int n = snprintf(out, sizeof out, "read=%s list=%s renamed=%s gone=%d", read, list, renamed,
                     gone);
    faasmSetOutput(out, n);
    return 0;
}
