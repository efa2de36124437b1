/*
 * Calls every function of faasm.h once, so that tests/sdk_abi.rs can check
 * that the header imports each `env.__faasm_*` function of the ABI with its
 * exact wasm type. It is only linked and inspected, never run: the calls sit
 * behind a condition the compiler cannot see through.
 */
#include <faasm.h>

static int chained(void) { return 0; }

FAASM_ZYGOTE() { return 0; }

int main(int argc, char **argv) {
    (void)argv;
    if (argc < 1000)
        return 0;
    uint8_t buf[16];
    const char *k = "key";
    long n = faasmGetInputSize() + faasmGetInput(buf, sizeof buf);
    faasmSetOutput(buf, n);
    unsigned int a = faasmChainNamed("f", buf, 1);
    unsigned int b = faasmChain(chained, buf, 1);
    char *out;
    int out_len;
    n += faasmAwaitCall(a) + faasmAwaitCallOutput(b, buf, sizeof buf) + faasmGetCallOutputSize(b);
    n += faasmAwaitCallOutput(b, &out, &out_len) + out_len;
    n += (long)faasmChainBatch(chained, "in", 2);
    n += (long)faasmReadStateSize(k) + faasmReadState(k, buf, sizeof buf);
    faasmReadStateOffset(k, 16, 4, buf, 4);
    faasmWriteState(k, buf, 4);
    faasmWriteStateOffset(k, 16, 4, buf, 4);
    uint8_t *p = faasmReadStatePtr(k, 16);
    uint8_t *q = faasmReadStateOffsetPtr(k, 16, 4, 4);
    faasmFlagStateDirty(k, 16);
    faasmFlagStateOffsetDirty(k, 16, 4, 4);
    faasmPushState(k);
    faasmPushStatePartial(k);
    faasmPushStatePartialMask(k, "mask");
    n += (long)faasmWriteStateFromFile(k, "/f");
    n += (long)getConfFlag("ALWAYS_ON");
    faasmBacktrace(1);
    faasmPullState(k, 16);
    faasmAppendState(k, buf, 4);
    faasmReadAppendedState(k, buf, 8, 2);
    faasmClearAppendedState(k);
    faasmLockStateRead(k);
    faasmUnlockStateRead(k);
    faasmLockStateWrite(k);
    faasmUnlockStateWrite(k);
    faasmLockStateGlobalRead(k);
    faasmUnlockStateGlobalRead(k);
    faasmLockStateGlobalWrite(k);
    faasmUnlockStateGlobalWrite(k);
    return (int)n + p[0] + q[0];
}
