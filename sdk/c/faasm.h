/*
 * faasm.h: the C (and C++) SDK for faasm-rs functions.
 *
 * Header only: include it, add `-I sdk/c`, and build a WASI command with
 * Debian's clang 14 and wasi-libc:
 *
 *   clang --target=wasm32-wasi -O2 -I sdk/c f.c -o f.wasm
 *   faasm-run upload demo/f f.wasm
 *   faasm-run invoke demo/f --input 'some bytes'
 *
 * No link flags are needed. Functions chained by pointer (faasmChain) should
 * be defined with FAASM_FUNC, which runs the module's constructors in the new
 * instance (see FAASM_FUNC); a module using it needs FAASM_MAIN.
 *
 * The model: a function is an ordinary WASI command. `main` (or the function
 * named in FAASM_MAIN) runs once per call; its return value is the call's
 * return code (0 = success). Without faasmSetOutput the call's output is what
 * it printed on stdout, so plain C programs work as functions unchanged.
 *
 * The API mirrors Faasm's C/C++ SDK (faasmGetInput, faasmSetOutput,
 * faasmChainNamed, faasmReadState, ...), so functions written for Faasm build
 * against this header; `#include "faasm/faasm.h"` and "faasm/core.h" also
 * work, and so do the helper headers of Faasm's libfaasm (faasm/input.h,
 * compare.h, print.h, random.h, time.h, files.h, memory.h; C++ only). Every function is a thin wrapper over one `env.__faasm_*` import
 * (see the README's host interface section for the exact contract). On
 * wasm32, `long`, sizes, pointers and call ids are all 32 bits.
 *
 * Errors: the host traps the whole call (return code 1, output = the trap
 * message) on a pointer or length outside linear memory, on a state key or
 * function name that is not a NUL-terminated string of at most 1023 bytes,
 * and on unlocking a lock this call does not hold. Functions here do not
 * return error codes except where documented.
 */
#ifndef FAASM_RS_FAASM_H
#define FAASM_RS_FAASM_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Raw imports (module "env"). The wrappers below are the supported API;    */
/* these are declared here so that code calling them directly also builds.  */
/* ------------------------------------------------------------------------ */

#define FAASM_IMPORT(name) __attribute__((import_module("env"), import_name(#name)))

FAASM_IMPORT(__faasm_read_input) int32_t __faasm_read_input(uint8_t *buf, uint32_t len);
FAASM_IMPORT(__faasm_write_output) void __faasm_write_output(const uint8_t *buf, uint32_t len);

FAASM_IMPORT(__faasm_chain_name)
uint32_t __faasm_chain_name(const char *name, const uint8_t *input, uint32_t len);
FAASM_IMPORT(__faasm_chain_ptr)
uint32_t __faasm_chain_ptr(int (*func)(void), const uint8_t *input, uint32_t len);
FAASM_IMPORT(__faasm_await_call) int32_t __faasm_await_call(uint32_t id);
/* Faasm's meaning: the host puts the call's output in fresh pages of this
 * instance's memory (as mmap would) and stores their address and the
 * output's length at *out and *out_len. */
FAASM_IMPORT(__faasm_await_call_output)
int32_t __faasm_await_call_output(uint32_t id, char **out, int32_t *out_len);
/* Ours: copies min(len, size) bytes of the output into the caller's buf. */
FAASM_IMPORT(__faasm_await_call_output_buffer)
int32_t __faasm_await_call_output_buffer(uint32_t id, uint8_t *buf, uint32_t len);
FAASM_IMPORT(__faasm_get_call_output_size) int32_t __faasm_get_call_output_size(uint32_t id);

FAASM_IMPORT(__faasm_read_state)
int32_t __faasm_read_state(const char *key, uint8_t *buf, uint32_t len);
FAASM_IMPORT(__faasm_read_state_offset)
void __faasm_read_state_offset(const char *key, uint32_t total_len, uint32_t offset, uint8_t *buf,
                               uint32_t len);
FAASM_IMPORT(__faasm_write_state)
void __faasm_write_state(const char *key, const uint8_t *data, uint32_t len);
FAASM_IMPORT(__faasm_write_state_offset)
void __faasm_write_state_offset(const char *key, uint32_t total_len, uint32_t offset,
                                const uint8_t *data, uint32_t len);
FAASM_IMPORT(__faasm_read_state_ptr)
uint8_t *__faasm_read_state_ptr(const char *key, uint32_t total_len);
FAASM_IMPORT(__faasm_read_state_offset_ptr)
uint8_t *__faasm_read_state_offset_ptr(const char *key, uint32_t total_len, uint32_t offset,
                                       uint32_t len);
FAASM_IMPORT(__faasm_flag_state_dirty)
void __faasm_flag_state_dirty(const char *key, uint32_t total_len);
FAASM_IMPORT(__faasm_flag_state_offset_dirty)
void __faasm_flag_state_offset_dirty(const char *key, uint32_t total_len, uint32_t offset,
                                     uint32_t len);
FAASM_IMPORT(__faasm_push_state) void __faasm_push_state(const char *key);
FAASM_IMPORT(__faasm_push_state_partial) void __faasm_push_state_partial(const char *key);
FAASM_IMPORT(__faasm_push_state_partial_mask)
void __faasm_push_state_partial_mask(const char *key, const char *mask_key);
FAASM_IMPORT(__faasm_write_state_from_file)
uint32_t __faasm_write_state_from_file(const char *key, const char *path);
FAASM_IMPORT(__faasm_pull_state) void __faasm_pull_state(const char *key, uint32_t total_len);
FAASM_IMPORT(__faasm_append_state)
void __faasm_append_state(const char *key, const uint8_t *data, uint32_t len);
FAASM_IMPORT(__faasm_read_appended_state)
void __faasm_read_appended_state(const char *key, uint8_t *buf, uint32_t len, uint32_t n_elems);
FAASM_IMPORT(__faasm_clear_appended_state) void __faasm_clear_appended_state(const char *key);

FAASM_IMPORT(__faasm_lock_state_read) void __faasm_lock_state_read(const char *key);
FAASM_IMPORT(__faasm_unlock_state_read) void __faasm_unlock_state_read(const char *key);
FAASM_IMPORT(__faasm_lock_state_write) void __faasm_lock_state_write(const char *key);
FAASM_IMPORT(__faasm_unlock_state_write) void __faasm_unlock_state_write(const char *key);
FAASM_IMPORT(__faasm_lock_state_global_read) void __faasm_lock_state_global_read(const char *key);
FAASM_IMPORT(__faasm_unlock_state_global_read)
void __faasm_unlock_state_global_read(const char *key);
FAASM_IMPORT(__faasm_lock_state_global_write) void __faasm_lock_state_global_write(const char *key);
FAASM_IMPORT(__faasm_unlock_state_global_write)
void __faasm_unlock_state_global_write(const char *key);

FAASM_IMPORT(__faasm_conf_flag) uint32_t __faasm_conf_flag(const char *key);
FAASM_IMPORT(__faasm_backtrace) void __faasm_backtrace(int32_t depth);

#undef FAASM_IMPORT

/** Faasm's cast of any object pointer to the byte pointer the API takes:
 *  faasmGetInput(BYTES(&x), sizeof x); BYTES_CONST for read-only data,
 *  such as a string literal passed to faasmAppendState. */
#ifdef __cplusplus
#define BYTES(arr) reinterpret_cast<uint8_t *>(arr)
#define BYTES_CONST(arr) reinterpret_cast<const uint8_t *>(arr)
#else
#define BYTES(arr) ((uint8_t *)(arr))
#define BYTES_CONST(arr) ((const uint8_t *)(arr))
#endif

/* ------------------------------------------------------------------------ */
/* Entry points                                                              */
/* ------------------------------------------------------------------------ */

/** A function that can be chained by pointer (faasmChain): no arguments, its
 *  result is the call's return code. It reads its own input with
 *  faasmGetInput and sets its output with faasmSetOutput. */
typedef int (*FaasmFuncPtr)(void);

/* Constructors (C++ static initialisers, wasi-libc's own, FAASM_ZYGOTE) run
 * from the linker-made __wasm_call_ctors. With clang 14's wasi-libc nothing
 * calls it explicitly: wasm-ld wraps every export in a call to it instead,
 * but only while no object refers to it. A function chained by pointer is
 * entered through the table, not an export, so it has to run them itself,
 * which needs a reference and so turns the wrapping off for `_start` too.
 * Hence both FAASM_MAIN and FAASM_FUNC run the constructors unless they have
 * run already (newer wasi-libc's `_start`, or a host that calls an exported
 * __wasm_call_ctors first): this flag, set by a constructor, tells. It is
 * defined by FAASM_MAIN, so a module with FAASM_FUNC but no FAASM_MAIN fails
 * to link with this name in the error. */
void __wasm_call_ctors(void);
/* volatile: otherwise the compiler evaluates the setting constructor at
 * compile time, making the flag 1 from the start. */
extern volatile int faasm_ctors_ran__FAASM_FUNC_needs_FAASM_MAIN;
#define FAASM_RUN_CTORS_ONCE_()                                                                    \
    do {                                                                                           \
        if (!faasm_ctors_ran__FAASM_FUNC_needs_FAASM_MAIN)                                         \
            __wasm_call_ctors();                                                                   \
    } while (0)

/**
 * FAASM_MAIN(name) { ... return 0; }
 *
 * Defines `int name(void)` as the function's entry point: it expands to a C
 * `main` that runs the constructors if need be (see FAASM_ZYGOTE) and
 * returns name()'s result, which becomes the call's return code. Required in
 * modules that use FAASM_FUNC or FAASM_ZYGOTE; otherwise a plain `int main`
 * works as well. It also exports `faasm_init`, which runs the constructors
 * (libc's, C++ static initialisers, FAASM_ZYGOTE): faasm calls it once,
 * before taking the function's snapshot, and every call then starts from
 * that snapshot with the constructors already run. Other WebAssembly hosts
 * just run `_start`, and main runs them then.
 */
#define FAASM_MAIN(name)                                                                           \
    volatile int faasm_ctors_ran__FAASM_FUNC_needs_FAASM_MAIN = 0;                                 \
    __attribute__((constructor)) static void faasm_note_ctors_ran_(void) {                         \
        faasm_ctors_ran__FAASM_FUNC_needs_FAASM_MAIN = 1;                                          \
    }                                                                                              \
    __attribute__((export_name("faasm_init"))) void faasm_init(void) {                            \
        FAASM_RUN_CTORS_ONCE_();                                                                   \
    }                                                                                              \
    int name(void);                                                                                \
    int main(void) {                                                                               \
        FAASM_RUN_CTORS_ONCE_();                                                                   \
        return name();                                                                             \
    }                                                                                              \
    int name(void)

/** Faasm's shortcut for a main entry point named faasmMain. */
#define FAASM_MAIN_FUNC() FAASM_MAIN(faasmMain)

/**
 * FAASM_FUNC(name, id) { ... return 0; }
 *
 * Defines `int name(void)`, a function other calls of this module can be
 * chained to with faasmChain(name, ...): it runs the module's constructors
 * (so FAASM_ZYGOTE and libc initialisation happen in the new instance too)
 * and then the body. The module needs FAASM_MAIN. Faasm numbered such
 * functions; here chaining goes by pointer, so `id` only names an export,
 * "faasm_func_<id>", which lets you run the function alone (`faasm-run
 * --invoke faasm_func_1 f.wasm`). Each `id` must be unique in the module.
 * Output printed but not flushed when it returns is lost: use faasmSetOutput.
 */
#define FAASM_FUNC(name, id)                                                                       \
    static int faasm_body_##name##_(void);                                                         \
    __attribute__((export_name("faasm_func_" #id))) int name(void) {                               \
        FAASM_RUN_CTORS_ONCE_();                                                                   \
        return faasm_body_##name##_();                                                             \
    }                                                                                              \
    static int faasm_body_##name##_(void)

/**
 * FAASM_ZYGOTE() { ... return 0; }
 *
 * Initialisation that runs once per function, not per call: faasm runs it
 * (through `faasm_init`, see FAASM_MAIN) before taking the function's
 * snapshot, and every call starts from what it left. Under a host without
 * snapshots it runs before main and before any FAASM_FUNC chained by
 * pointer (it is a constructor). A non-zero result ends the call at once
 * with that return code. At most one per module; needs FAASM_MAIN.
 */
#define FAASM_ZYGOTE()                                                                             \
    static int faasm_zygote_(void);                                                                \
    __attribute__((constructor)) static void faasm_run_zygote_(void) {                             \
        int faasm_rc_ = faasm_zygote_();                                                           \
        if (faasm_rc_ != 0)                                                                        \
            _Exit(faasm_rc_);                                                                      \
    }                                                                                              \
    static int faasm_zygote_(void)

/* ------------------------------------------------------------------------ */
/* Input and output                                                          */
/* ------------------------------------------------------------------------ */

/** Returns the size of this call's input in bytes (0 if it has none). */
static inline long faasmGetInputSize(void) { return __faasm_read_input(NULL, 0); }

/** Copies the first min(bufferLen, input size) bytes of the input to buffer.
 *  Returns the number of bytes copied (an extension: Faasm's returns void).
 *  The input is bytes, not a string: it is not NUL-terminated. */
static inline long faasmGetInput(uint8_t *buffer, long bufferLen) {
    if (bufferLen <= 0)
        return 0; /* length 0 would mean "query the size" to the host */
    return __faasm_read_input(buffer, (uint32_t)bufferLen);
}

/** Sets (replaces) this call's output to outputLen bytes at output. A call
 *  that never sets its output has what it printed on stdout instead. Output
 *  beyond the executor's limit (default 64 MiB) fails the call.
 *  Faasm declares the buffer `const char *` (its older releases `const
 *  uint8_t *`); `const void *` takes both, and any other object pointer,
 *  without a cast in C and in C++. */
static inline void faasmSetOutput(const void *output, long outputLen) {
    __faasm_write_output((const uint8_t *)output, (uint32_t)outputLen);
}

/* ------------------------------------------------------------------------ */
/* Chaining                                                                  */
/* ------------------------------------------------------------------------ */

/** Queues a call of this user's function `name` (no '/', not empty) with a
 *  copy of inputDataSize bytes of input, and returns its call id at once. A
 *  function that does not exist still gets an id: that call fails (return
 *  code 1, its output says why). */
static inline unsigned int faasmChainNamed(const char *name, const uint8_t *inputData,
                                           long inputDataSize) {
    return __faasm_chain_name(name, inputData, (uint32_t)inputDataSize);
}

/** Queues a call of funcPtr in a fresh instance of this same module, with a
 *  copy of the input, and returns its call id at once. The new instance
 *  runs funcPtr instead of main. funcPtr is an `int f(void)` of this module,
 *  best defined with FAASM_FUNC so that the constructors (FAASM_ZYGOTE,
 *  libc's) run first; a plain function works but runs without them. */
static inline unsigned int faasmChain(FaasmFuncPtr funcPtr, const uint8_t *inputData,
                                      long inputDataSize) {
    return __faasm_chain_ptr(funcPtr, inputData, (uint32_t)inputDataSize);
}

/** Blocks until call callId finishes and returns its return code (0 =
 *  success). Returns -1 at once for an id this call did not create. Waiting
 *  for the same call again is fine. */
static inline int faasmAwaitCall(unsigned int callId) { return __faasm_await_call(callId); }

/**
 * faasmAwaitCallOutput(callId, &output, &outputLen): Faasm's form. Blocks
 * until call callId finishes, then sets output (a `char *`) to a copy of its
 * whole output and outputLen (an `int`) to its length, and returns its
 * return code. The copy lives in pages the host takes for it, as mmap
 * would: it stays valid for the rest of this call and is not for free();
 * munmap(output, outputLen) returns the pages early. An empty output gives
 * NULL and 0. Returns -1, setting nothing, for an id this call did not
 * create.
 *
 * faasmAwaitCallOutput(callId, buffer, bufferLen): the form of Faasm's
 * older releases, kept: copies the first min(bufferLen, output size) bytes
 * to buffer (a `uint8_t *`). The call picks the form by the second
 * argument's type (overloads in C++, _Generic in C).
 */
static inline int faasm_await_call_output_alloc_(unsigned int callId, char **output,
                                                 int *outputLen) {
    return __faasm_await_call_output(callId, output, (int32_t *)outputLen);
}
static inline int faasm_await_call_output_copy_(unsigned int callId, uint8_t *buffer,
                                                long bufferLen) {
    return __faasm_await_call_output_buffer(callId, buffer, (uint32_t)bufferLen);
}
#ifndef __cplusplus
#define faasmAwaitCallOutput(callId, output, outputLen)                                            \
    _Generic((output), char **: faasm_await_call_output_alloc_, default: faasm_await_call_output_copy_)( \
        (callId), (output), (outputLen))
#endif

/** faasm-rs extension: waits for call callId and returns the size of its
 *  output in bytes, so a buffer can be sized for faasmAwaitCallOutput.
 *  Returns -1 for a foreign id. */
static inline long faasmGetCallOutputSize(unsigned int callId) {
    return __faasm_get_call_output_size(callId);
}

/** Faasm's batch: chains funcPtr nFuncs times, each call with the bytes of
 *  the string inputData (without its NUL; NULL for none) as input, waits for
 *  all of them and returns 0 if every one returned 0, else the first
 *  non-zero return code in call order. */
static inline unsigned int faasmChainBatch(FaasmFuncPtr funcPtr, const char *inputData,
                                           int nFuncs) {
    long len = 0;
    if (inputData)
        while (inputData[len])
            len++;
    unsigned int *ids = (unsigned int *)malloc(sizeof(unsigned int) * (nFuncs > 0 ? nFuncs : 1));
    if (!ids)
        return 1;
    for (int i = 0; i < nFuncs; i++)
        ids[i] = faasmChain(funcPtr, (const uint8_t *)inputData, len);
    unsigned int result = 0;
    for (int i = 0; i < nFuncs; i++) {
        int rc = faasmAwaitCall(ids[i]);
        if (rc != 0 && result == 0)
            result = (unsigned int)rc;
    }
    free(ids);
    return result;
}

/* ------------------------------------------------------------------------ */
/* State: byte arrays by key, shared by all functions of the same user.      */
/* ------------------------------------------------------------------------ */

/** Returns the size in bytes of the value at key (0 if there is none). */
static inline size_t faasmReadStateSize(const char *key) {
    return (size_t)__faasm_read_state(key, NULL, 0);
}

/** Copies the first min(bufferLen, size) bytes of the value at key to buffer
 *  and returns the value's full size. bufferLen 0 just returns the size. */
static inline long faasmReadState(const char *key, uint8_t *buffer, long bufferLen) {
    return __faasm_read_state(key, buffer, (uint32_t)bufferLen);
}

/** Copies bytes [offset, offset + bufferLen) of the value at key to buffer;
 *  the value reads as zero-extended to totalLen. offset + bufferLen must not
 *  exceed totalLen. */
static inline void faasmReadStateOffset(const char *key, long totalLen, long offset,
                                        uint8_t *buffer, long bufferLen) {
    __faasm_read_state_offset(key, (uint32_t)totalLen, (uint32_t)offset, buffer,
                              (uint32_t)bufferLen);
}

/** Replaces the value at key with dataLen bytes from data. */
static inline void faasmWriteState(const char *key, const uint8_t *data, long dataLen) {
    __faasm_write_state(key, data, (uint32_t)dataLen);
}

/** Replaces bytes [offset, offset + dataLen) of the value at key, first
 *  growing it (zero-filled) to at least totalLen bytes. */
static inline void faasmWriteStateOffset(const char *key, long totalLen, long offset,
                                         const uint8_t *data, long dataLen) {
    __faasm_write_state_offset(key, (uint32_t)totalLen, (uint32_t)offset, data,
                               (uint32_t)dataLen);
}

/** Returns a pointer to totalLen bytes in this instance's memory holding the
 *  value at key (zero-extended). The same key always gives the same pointer
 *  in one call. Writes to it stay local until faasmPushState (or, for the
 *  ranges flagged dirty, faasmPushStatePartial); faasmPullState refreshes it. */
static inline uint8_t *faasmReadStatePtr(const char *key, long totalLen) {
    return __faasm_read_state_ptr(key, (uint32_t)totalLen);
}

/** As faasmReadStatePtr for the value of totalLen bytes at key, returning a
 *  pointer to bytes [offset, offset + len) of it. */
static inline uint8_t *faasmReadStateOffsetPtr(const char *key, long totalLen, long offset,
                                               long len) {
    return __faasm_read_state_offset_ptr(key, (uint32_t)totalLen, (uint32_t)offset,
                                         (uint32_t)len);
}

/** Marks the whole mapped value at key (totalLen bytes) as modified, for
 *  faasmPushStatePartial. */
static inline void faasmFlagStateDirty(const char *key, long totalLen) {
    __faasm_flag_state_dirty(key, (uint32_t)totalLen);
}

/** Marks bytes [offset, offset + len) of the mapped value at key (totalLen
 *  bytes) as modified, for faasmPushStatePartial. */
static inline void faasmFlagStateOffsetDirty(const char *key, long totalLen, long offset,
                                             long len) {
    __faasm_flag_state_offset_dirty(key, (uint32_t)totalLen, (uint32_t)offset, (uint32_t)len);
}

/** Writes the whole region returned by faasmReadStatePtr for key back to the
 *  state. */
static inline void faasmPushState(const char *key) { __faasm_push_state(key); }

/** Writes only the ranges flagged dirty in key's mapped region back to the
 *  state. */
static inline void faasmPushStatePartial(const char *key) { __faasm_push_state_partial(key); }

/** Writes back only the bytes of key's mapped region whose byte in maskKey's
 *  mapped region (this call must have mapped it too, with faasmReadStatePtr,
 *  at least as long) is non-zero. The call fails if maskKey is not mapped. */
static inline void faasmPushStatePartialMask(const char *key, const char *maskKey) {
    __faasm_push_state_partial_mask(key, maskKey);
}

/** Stores the contents of the file at filePath (a path as this function
 *  would open it, e.g. under a preopened directory) as the value at key, and
 *  returns its size in bytes. A file that cannot be read fails the call,
 *  with a message naming the path. */
static inline unsigned long faasmWriteStateFromFile(const char *key, const char *filePath) {
    return __faasm_write_state_from_file(key, filePath);
}

/** Refreshes key's mapped region (stateLen bytes) from the state, discarding
 *  local changes not yet pushed. */
static inline void faasmPullState(const char *key, long stateLen) {
    __faasm_pull_state(key, (uint32_t)stateLen);
}

/** Appends one element of dataLen bytes to the append-only list at key. */
static inline void faasmAppendState(const char *key, const uint8_t *data, long dataLen) {
    __faasm_append_state(key, data, (uint32_t)dataLen);
}

/** Copies the first nElems elements appended at key, concatenated, to buffer
 *  (bufferLen bytes: the sum of their sizes). */
static inline void faasmReadAppendedState(const char *key, uint8_t *buffer, long bufferLen,
                                          long nElems) {
    __faasm_read_appended_state(key, buffer, (uint32_t)bufferLen, (uint32_t)nElems);
}

/** Removes every element appended at key. */
static inline void faasmClearAppendedState(const char *key) { __faasm_clear_appended_state(key); }

/* Locks: reader-writer locks per key, across all calls on the host. A lock
 * still held when a call ends is released; unlocking one this call does not
 * hold fails the call. The local and the global tier are separate locks (on
 * one host the global tier behaves like the local one). */

/** Takes key's local lock for reading (shared), waiting for writers. */
static inline void faasmLockStateRead(const char *key) { __faasm_lock_state_read(key); }
/** Releases key's local read lock. */
static inline void faasmUnlockStateRead(const char *key) { __faasm_unlock_state_read(key); }
/** Takes key's local lock for writing (exclusive), waiting for everyone else. */
static inline void faasmLockStateWrite(const char *key) { __faasm_lock_state_write(key); }
/** Releases key's local write lock. */
static inline void faasmUnlockStateWrite(const char *key) { __faasm_unlock_state_write(key); }
/** Takes key's global-tier lock for reading (shared). */
static inline void faasmLockStateGlobalRead(const char *key) {
    __faasm_lock_state_global_read(key);
}
/** Releases key's global-tier read lock. */
static inline void faasmUnlockStateGlobalRead(const char *key) {
    __faasm_unlock_state_global_read(key);
}
/** Takes key's global-tier lock for writing (exclusive). */
static inline void faasmLockStateGlobalWrite(const char *key) {
    __faasm_lock_state_global_write(key);
}
/** Releases key's global-tier write lock. */
static inline void faasmUnlockStateGlobalWrite(const char *key) {
    __faasm_unlock_state_global_write(key);
}

/** Faasm's older names for the global-tier write lock. */
static inline void faasmLockStateGlobal(const char *key) { faasmLockStateGlobalWrite(key); }
static inline void faasmUnlockStateGlobal(const char *key) { faasmUnlockStateGlobalWrite(key); }

/* ------------------------------------------------------------------------ */
/* The runtime                                                               */
/* ------------------------------------------------------------------------ */

/** 1 if the runtime's configuration flag key is on, else 0. faasm-rs has
 *  Faasm's test flag ALWAYS_ON (1); every other flag, including Faasm's
 *  PYTHON_PRELOAD, is off. */
static inline unsigned int getConfFlag(const char *key) { return __faasm_conf_flag(key); }

/** Asks the runtime to report where this call is, on the host's stderr. */
static inline void faasmBacktrace(const int depth) { __faasm_backtrace(depth); }

#ifdef __cplusplus
}

/* The two forms of faasmAwaitCallOutput (see above) as overloads. */
static inline int faasmAwaitCallOutput(unsigned int callId, char **output, int *outputLen) {
    return faasm_await_call_output_alloc_(callId, output, outputLen);
}
static inline int faasmAwaitCallOutput(unsigned int callId, uint8_t *buffer, long bufferLen) {
    return faasm_await_call_output_copy_(callId, buffer, bufferLen);
}

#include "faasm/throw.h"
#endif

#endif /* FAASM_RS_FAASM_H */
