/* An interpreter loop: a small stack-based bytecode VM (int32 words,
 * opcode then inline operand, a switch over the opcode per instruction,
 * eight local slots) running a loop program assembled at run time: n
 * iterations of an LCG step, a data-dependent branch on one of its bits
 * and a counter: 22 or 25 dispatches per iteration. Returns the program's
 * result and the number of instructions executed. */
#include "kernels.h"

enum {
    OP_HALT,
    OP_PUSH,  /* imm */
    OP_LOAD,  /* slot */
    OP_STORE, /* slot */
    OP_DUP,
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_XOR,
    OP_AND,
    OP_SHR,
    OP_JMP, /* target */
    OP_JZ,  /* target; pops */
    OP_JNZ, /* target; pops */
};

#define VM_CODE 256
#define VM_STACK 64

static int32_t vm_code[VM_CODE];

static int32_t emit(int32_t at, int32_t op) {
    vm_code[at] = op;
    return at + 1;
}

static int32_t emit2(int32_t at, int32_t op, int32_t arg) {
    vm_code[at] = op;
    vm_code[at + 1] = arg;
    return at + 2;
}

/* Writes the program for `iters` iterations into vm_code; in its own
 * non-inlined function so the compilers see a program in memory, not
 * constants to fold into the interpreter. */
__attribute__((noinline)) static void assemble(int32_t iters) {
    int32_t pc = 0;
    pc = emit2(pc, OP_PUSH, iters); /* slot 0: counter */
    pc = emit2(pc, OP_STORE, 0);
    pc = emit2(pc, OP_PUSH, 12345); /* slot 1: x */
    pc = emit2(pc, OP_STORE, 1);
    pc = emit2(pc, OP_PUSH, 0); /* slot 2: acc */
    pc = emit2(pc, OP_STORE, 2);
    int32_t loop = pc;
    /* x = x * 1664525 + 1013904223 */
    pc = emit2(pc, OP_LOAD, 1);
    pc = emit2(pc, OP_PUSH, 1664525);
    pc = emit(pc, OP_MUL);
    pc = emit2(pc, OP_PUSH, 1013904223);
    pc = emit(pc, OP_ADD);
    pc = emit(pc, OP_DUP);
    pc = emit2(pc, OP_STORE, 1);
    /* if ((x >> 16) & 1) acc += x >> 20; else acc ^= x; */
    pc = emit2(pc, OP_PUSH, 16);
    pc = emit(pc, OP_SHR);
    pc = emit2(pc, OP_PUSH, 1);
    pc = emit(pc, OP_AND);
    int32_t jz = pc;
    pc = emit2(pc, OP_JZ, 0);
    pc = emit2(pc, OP_LOAD, 2);
    pc = emit2(pc, OP_LOAD, 1);
    pc = emit2(pc, OP_PUSH, 20);
    pc = emit(pc, OP_SHR);
    pc = emit(pc, OP_ADD);
    pc = emit2(pc, OP_STORE, 2);
    int32_t jmp = pc;
    pc = emit2(pc, OP_JMP, 0);
    vm_code[jz + 1] = pc;
    pc = emit2(pc, OP_LOAD, 2);
    pc = emit2(pc, OP_LOAD, 1);
    pc = emit(pc, OP_XOR);
    pc = emit2(pc, OP_STORE, 2);
    vm_code[jmp + 1] = pc;
    /* if (--counter != 0) goto loop */
    pc = emit2(pc, OP_LOAD, 0);
    pc = emit2(pc, OP_PUSH, 1);
    pc = emit(pc, OP_SUB);
    pc = emit(pc, OP_DUP);
    pc = emit2(pc, OP_STORE, 0);
    pc = emit2(pc, OP_JNZ, loop);
    pc = emit2(pc, OP_LOAD, 2);
    emit(pc, OP_HALT);
}

/* Runs vm_code; returns the top of the stack at HALT and counts the
 * instructions executed into *steps. */
__attribute__((noinline)) static uint32_t interpret(uint64_t *steps) {
    uint32_t stack[VM_STACK];
    uint32_t slots[8] = {0};
    int32_t sp = 0;
    int32_t pc = 0;
    uint64_t count = 0;
    for (;;) {
        int32_t op = vm_code[pc];
        count++;
        switch (op) {
        case OP_HALT:
            *steps = count;
            return sp > 0 ? stack[sp - 1] : 0;
        case OP_PUSH:
            stack[sp++] = (uint32_t)vm_code[pc + 1];
            pc += 2;
            break;
        case OP_LOAD:
            stack[sp++] = slots[vm_code[pc + 1] & 7];
            pc += 2;
            break;
        case OP_STORE:
            slots[vm_code[pc + 1] & 7] = stack[--sp];
            pc += 2;
            break;
        case OP_DUP:
            stack[sp] = stack[sp - 1];
            sp++;
            pc += 1;
            break;
        case OP_ADD:
            sp--;
            stack[sp - 1] += stack[sp];
            pc += 1;
            break;
        case OP_SUB:
            sp--;
            stack[sp - 1] -= stack[sp];
            pc += 1;
            break;
        case OP_MUL:
            sp--;
            stack[sp - 1] *= stack[sp];
            pc += 1;
            break;
        case OP_XOR:
            sp--;
            stack[sp - 1] ^= stack[sp];
            pc += 1;
            break;
        case OP_AND:
            sp--;
            stack[sp - 1] &= stack[sp];
            pc += 1;
            break;
        case OP_SHR:
            sp--;
            stack[sp - 1] >>= stack[sp] & 31;
            pc += 1;
            break;
        case OP_JMP:
            pc = vm_code[pc + 1];
            break;
        case OP_JZ:
            pc = stack[--sp] == 0 ? vm_code[pc + 1] : pc + 2;
            break;
        case OP_JNZ:
            pc = stack[--sp] != 0 ? vm_code[pc + 1] : pc + 2;
            break;
        default:
            /* Not reached with the assembled program. */
            *steps = count;
            return 0xdeadbeefu;
        }
    }
}

KERNEL_EXPORT int64_t run_interp(int32_t n) {
    assemble(clamp_n(n, 1, 1 << 24));
    uint64_t steps = 0;
    uint32_t result = interpret(&steps);
    return (int64_t)((steps << 32) ^ result);
}
