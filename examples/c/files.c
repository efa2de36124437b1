/*
 * Files inside a Faaslet's sandbox, in C against wasi-libc:
 *
 *   clang --target=wasm32-wasi -O2 files.c -o files.wasm
 *   mkdir -p /tmp/box && faasm-run --dir /tmp/box::/data files.wasm /data
 *
 * In directory DIR (argv[1], a preopened guest path) it writes a file,
 * reads it back, appends, seeks, makes a subdirectory, lists DIR, renames
 * and unlinks, sleeps briefly, then tries to get out of the sandbox
 * (`DIR/../../etc/passwd`, `/etc/passwd`, and `DIR/link-out` if the host
 * put such a symlink there) and reports that each attempt was refused.
 * Leaves DIR/kept.txt behind. Any unexpected result exits with status 1.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *dir;

static const char *path(const char *name) {
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

static void fail(const char *what) {
    printf("FAILED: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void write_file(const char *name, const char *mode, const char *text) {
    FILE *f = fopen(path(name), mode);
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        fail(name);
}

static void read_file(const char *name, char *out, size_t cap) {
    FILE *f = fopen(path(name), "r");
    if (!f)
        fail(name);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = 0;
    fclose(f);
}

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(void) {
    DIR *d = opendir(dir);
    if (!d)
        fail("opendir");
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp);
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (lstat(path(names[i]), &st) != 0)
            fail(names[i]);
        const char *kind = S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "link" : "file";
        printf("entry: %s (%s)\n", names[i], kind);
        free(names[i]);
    }
}

static void try_escape(const char *p) {
    int fd = open(p, O_RDONLY);
    if (fd >= 0) {
        printf("ESCAPED: opened %s\n", p);
        exit(1);
    }
    printf("escape refused: %s\n", strerror(errno));
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: files DIR\n");
        return 2;
    }
    dir = argv[1];
    char buf[256];

    write_file("a.txt", "w", "hello files\n");
    read_file("a.txt", buf, sizeof buf);
    printf("read: %s", buf);

    write_file("a.txt", "a", "more\n");
    int fd = open(path("a.txt"), O_RDONLY);
    if (fd < 0 || lseek(fd, 6, SEEK_SET) != 6)
        fail("lseek");
    ssize_t n = read(fd, buf, 5);
    buf[n > 0 ? n : 0] = 0;
    printf("at 6: %s (size %ld)\n", buf, (long)lseek(fd, 0, SEEK_END));
    close(fd);

    if (mkdir(path("sub"), 0755) != 0)
        fail("mkdir");
    write_file("sub/b.txt", "w", "b\n");
    list();

    if (rename(path("a.txt"), path("c.txt")) != 0)
        fail("rename");
    struct stat st;
    if (stat(path("a.txt"), &st) == 0 || errno != ENOENT)
        fail("a.txt still there");
    if (stat(path("c.txt"), &st) != 0)
        fail("stat c.txt");
    printf("renamed: c.txt has %lld bytes\n", (long long)st.st_size);

    if (unlink(path("c.txt")) != 0 || unlink(path("sub/b.txt")) != 0)
        fail("unlink");
    if (rmdir(path("sub")) != 0)
        fail("rmdir");
    if (rmdir(path("sub")) == 0 || errno != ENOENT)
        fail("sub still there");

    struct timespec t0, t1, pause = {0, 20 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nanosleep(&pause, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("slept: %s\n", ms >= 20 ? "yes" : "too short");

    try_escape(path("../../etc/passwd"));
    try_escape("/etc/passwd");
    if (lstat(path("link-out"), &st) == 0)
        try_escape(path("link-out"));

    write_file("kept.txt", "w", "kept\n");
    list();
    return 0;
}
