/*
 * C++ `throw` without exception handling: faasm-rs has no wasm exception
 * support yet, and Debian's libc++abi for wasm32 is built without it, so a
 * `throw` would not even link (undefined __cxa_allocate_exception and
 * __cxa_throw). faasm.h includes this in C++ to define the two: throwing
 * prints what was thrown on stderr and traps, which ends the call (return
 * code 1) with a message naming the thrown type, instead of failing the
 * build.
 *
 * Weak definitions: every translation unit that includes faasm.h carries
 * them and the linker keeps one; a real implementation (a libc++abi with
 * exceptions) wins over them. Catch blocks never run: nothing unwinds.
 */
#ifndef FAASM_RS_THROW_H
#define FAASM_RS_THROW_H

#ifdef __cplusplus
#include <cstdio>
#include <cstdlib>
#include <cxxabi.h>
#include <typeinfo>

extern "C" {

__attribute__((weak)) void *__cxa_allocate_exception(size_t size) throw() {
    // The object is built here before __cxa_throw; it is never freed
    // because the call ends right after.
    void *p = std::malloc(size ? size : 1);
    if (!p)
        __builtin_trap();
    return p;
}

__attribute__((weak, noreturn)) void __cxa_throw(void *, std::type_info *type,
                                                  void (*)(void *)) {
    int status = 1;
    char *name = abi::__cxa_demangle(type->name(), nullptr, nullptr, &status);
    const char *shown = status == 0 && name ? name : type->name();
    // libc++abi offers no public way to test whether the object is a
    // std::exception, so its what() cannot be shown safely: the type is.
    std::fprintf(stderr,
                 "faasm: uncaught C++ exception of type %s: exceptions are not supported, "
                 "the call ends here\n",
                 shown);
    std::fflush(stderr);
    __builtin_trap();
}
}
#endif

#endif /* FAASM_RS_THROW_H */
