/*
 * The C SDK's entry points without any host call, so that tests/sdk_abi.rs
 * can run it with plain `faasm-run FILE`:
 *   - FAASM_ZYGOTE runs before FAASM_MAIN's function (prints "main sees 42",
 *     returns 3), also when the module imports nothing that would make the
 *     linker call the constructors for it;
 *   - a FAASM_FUNC entered directly, as the host enters a function chained by
 *     pointer (`faasm-run --invoke faasm_func_7 FILE`), runs the zygote first
 *     too (returns 42);
 *   - a zygote returning non-zero ends the call with that code (ZYGOTE_FAIL=1
 *     in the environment: exit status 7, main never runs).
 */
#include <faasm.h>
#include <stdio.h>
#include <stdlib.h>

static int ready = 0;

FAASM_ZYGOTE() {
    ready += 42; /* += : running twice would show as 84 */
    return getenv("ZYGOTE_FAIL") ? 7 : 0;
}

FAASM_FUNC(probe, 7) { return ready; }

FAASM_MAIN(entry) {
    printf("main sees %d\n", ready);
    return 3;
}
