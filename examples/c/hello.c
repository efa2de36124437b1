/*
 * Hello world for faasm, in C against wasi-libc:
 *
 *   clang --target=wasm32-wasi -O2 hello.c -o hello.wasm
 *   faasm-run hello.wasm                 -> Hello, world!
 *   faasm-run --env NAME=C hello.wasm    -> Hello, C!
 *   faasm-run hello.wasm a b             -> also lists the arguments
 *   faasm-run hello.wasm exit 3          -> exits with status 3
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *name = getenv("NAME");
    printf("Hello, %s!\n", name ? name : "world");
    for (int i = 1; i < argc; i++)
        printf("argv[%d] = %s\n", i, argv[i]);
    if (argc == 3 && strcmp(argv[1], "exit") == 0) {
        int status = atoi(argv[2]);
        fprintf(stderr, "exiting with status %d\n", status);
        exit(status);
    }
    return 0;
}
